import PQueue from "p-queue";
import { isOcspError } from "../ocsp/errors.ts";
import type { FoundIssuer } from "../ocsp/issuer.ts";
import type { FetchedStaple, FetchOptions, OcspClient } from "../ocsp/ocsp-client.ts";
import { FetcherStopped, HostBusy } from "./host-busy.ts";

export interface FetcherLimits {
  /** Requests in flight to one responder host. */
  readonly concurrencyPerHost: number;
  /** At most this many requests to one host per second. */
  readonly ratePerHostPerSecond: number;
  /** Fetches waiting for one host beyond those in flight; more are refused with HostBusy (default 100). */
  readonly backlogPerHost?: number;
}

export const DEFAULT_FETCHER_LIMITS: FetcherLimits = { concurrencyPerHost: 4, ratePerHostPerSecond: 20 };
const DEFAULT_BACKLOG_PER_HOST = 100;

/** What to fetch: the client's options, with the leaf's issuer already found by the caller (`findChainIssuer`): the client does not search for it again. */
export type FetchRequest = Omit<FetchOptions, "issuer" | "explicitIssuers"> & { readonly issuer: FoundIssuer };

/** Told of every fetch that reached the engine: the responder host, the result (a status or an error code) and its duration. */
export type FetchObserver = (host: string, result: string, seconds: number) => void;

/** How long a verified answer is shared with other Secrets holding the same certificate. */
export const SHARE_ANSWER_MS = 5 * 60_000;
const MAX_SHARED_ANSWERS = 10_000;

/**
 * Puts the engine behind two protections for CAs' responders:
 * - a p-queue per responder host, bounding concurrency and rate, so a
 *   cluster with thousands of certificates does not flood one CA;
 * - one fetch per certificate and responder: Secrets that share a
 *   certificate (the same tls.crt copied across namespaces) share one
 *   request in flight, and its verified answer for a few minutes after;
 * - a bounded backlog per host: a host that is slow or never answers holds
 *   at most `backlogPerHost` waiting fetches; beyond that `fetch` throws
 *   HostBusy, whose promise resolves when that host's backlog has room.
 */
export class StapleFetcher {
  private readonly queues = new Map<string, PQueue>();
  /** Per host, callers told HostBusy, woken in turn as that host's fetches finish. */
  private readonly wakers = new Map<string, (() => void)[]>();
  private readonly inFlight = new Map<string, Promise<FetchedStaple>>();
  /** Shared answers, oldest first (a Map keeps insertion order), without the issuer they were fetched with. */
  private readonly answers = new Map<string, { staple: Omit<FetchedStaple, "issuer">; until: number }>();
  private readonly client: OcspClient;
  private readonly limits: FetcherLimits;
  private readonly observe: FetchObserver;
  private stopped = false;

  constructor(client: OcspClient, limits: FetcherLimits = DEFAULT_FETCHER_LIMITS, observe: FetchObserver = () => undefined) {
    this.client = client;
    this.limits = limits;
    this.observe = observe;
  }

  /** `now` (epoch ms) decides whether a shared answer is still recent enough to reuse. */
  fetch(options: FetchRequest, now: number): Promise<FetchedStaple> {
    const url = options.urlOverride !== undefined && options.urlOverride !== "" ? options.urlOverride : (options.chain.leaf.ocspUrls[0] ?? "");
    const key = `${options.chain.leaf.sha256} ${url} ${options.issuer.certificate.sha256}`;
    const shared = this.answers.get(key);
    if (shared !== undefined && now < shared.until) return Promise.resolve({ ...shared.staple, issuer: options.issuer.certificate });
    const existing = this.inFlight.get(key);
    if (existing !== undefined) return existing;
    const host = hostOf(url);
    const queue = this.queueFor(host);
    if (this.backlogFull(host)) return Promise.reject(new HostBusy(host, this.whenFree(host)));
    const fetched = queue.add(() => (this.stopped ? Promise.reject(new FetcherStopped(host)) : this.timed(host, () => this.client.fetchStaple(options))).finally(() => { this.wakeOne(host); }));
    const settled = fetched.then((staple) => { this.share(key, staple, now); return staple; }).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, settled);
    return settled;
  }

  /** From now on, fetches not yet sent fail with FetcherStopped (those in flight end as they will). */
  stop(): void {
    this.stopped = true;
  }

  /**
   * Undefined while a fetch from `url` would be taken now; when its host's
   * backlog is full, a promise that resolves when it has room (the same turn
   * HostBusy gives). Lets a caller step aside before doing the work a fetch
   * needs (parsing the chain), not after.
   */
  roomFor(url: string): Promise<void> | undefined {
    const host = hostOf(url);
    return this.backlogFull(host) ? this.whenFree(host) : undefined;
  }

  private backlogFull(host: string): boolean {
    return (this.queues.get(host)?.size ?? 0) >= (this.limits.backlogPerHost ?? DEFAULT_BACKLOG_PER_HOST);
  }

  /**
   * Shares an answer for SHARE_ANSWER_MS, and never beyond a tenth of its own
   * usable window. Kept without its issuer: each caller has its own parsed
   * copy of that certificate (an X509Certificate and a KeyObject, kilobytes
   * outside the heap), and 10,000 answers held theirs for five minutes.
   * When full, the oldest answers go first, never all at once: a fleet of
   * exactly MAX_SHARED_ANSWERS certificates emptied it at every new answer.
   */
  private share(key: string, staple: FetchedStaple, now: number): void {
    const window = staple.usableUntil.getTime() - staple.thisUpdate.getTime();
    const until = Math.min(now + SHARE_ANSWER_MS, staple.thisUpdate.getTime() + window / 10);
    if (until <= now) return;
    const { issuer, ...answer } = staple;
    this.answers.delete(key);
    this.answers.set(key, { staple: answer, until });
    for (const [oldest, entry] of this.answers) {
      if (this.answers.size <= MAX_SHARED_ANSWERS && entry.until > now) break;
      this.answers.delete(oldest);
    }
  }

  private async timed(host: string, fetch: () => Promise<FetchedStaple>): Promise<FetchedStaple> {
    const started = performance.now();
    try {
      const staple = await fetch();
      this.observe(host, staple.certStatus.kind, (performance.now() - started) / 1000);
      return staple;
    } catch (error) {
      this.observe(host, isOcspError(error) ? error.code : "Internal", (performance.now() - started) / 1000);
      throw error;
    }
  }

  private whenFree(host: string): Promise<void> {
    return new Promise((resolve) => {
      const wakers = this.wakers.get(host) ?? [];
      wakers.push(resolve);
      this.wakers.set(host, wakers);
    });
  }

  /** A fetch to `host` finished: one caller turned away may try again. */
  private wakeOne(host: string): void {
    const wakers = this.wakers.get(host);
    wakers?.shift()?.();
    if (wakers?.length === 0) this.wakers.delete(host);
  }

  private queueFor(host: string): PQueue {
    let queue = this.queues.get(host);
    if (queue === undefined) {
      queue = new PQueue({ concurrency: this.limits.concurrencyPerHost, intervalCap: this.limits.ratePerHostPerSecond, interval: 1_000 });
      this.queues.set(host, queue);
    }
    return queue;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "";
  }
}
