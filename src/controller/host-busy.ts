/**
 * Thrown by the fetcher instead of queueing a fetch when its responder host
 * already has a full backlog: the reconcile steps aside and its key comes
 * back when `free` resolves (a fetch to that host finished), so a host that
 * never answers holds a bounded number of waiting reconciles, not the fleet.
 */
export class HostBusy extends Error {
  readonly host: string;
  readonly free: Promise<void>;

  constructor(host: string, free: Promise<void>) {
    super(`responder host ${host} has a full backlog of fetches`);
    this.name = "HostBusy";
    this.host = host;
    this.free = free;
  }
}

/**
 * Thrown by the fetcher, once it is stopped, for a fetch that had not been
 * sent yet: a stopping controller waits for the requests in flight, not for a
 * backlog behind a responder that never answers (40 fetches to a silent host,
 * 4 at a time with a 20 s timeout, held a stop for 200 s).
 */
export class FetcherStopped extends Error {
  constructor(host: string) {
    super(`fetch from ${host} not sent: the controller is stopping`);
    this.name = "FetcherStopped";
  }
}
