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
