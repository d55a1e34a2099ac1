import PQueue from "p-queue";
import type { Certificate } from "../ocsp/certificate.ts";
import { isOcspError } from "../ocsp/errors.ts";
import type { FetchedStaple, FetchOptions, OcspClient } from "../ocsp/ocsp-client.ts";

export interface FetcherLimits {
  /** Requests in flight to one responder host. */
  readonly concurrencyPerHost: number;
  /** At most this many requests to one host per second. */
  readonly ratePerHostPerSecond: number;
}

export const DEFAULT_FETCHER_LIMITS: FetcherLimits = { concurrencyPerHost: 4, ratePerHostPerSecond: 20 };

/** Told of every fetch that reached the engine: the responder host, the result (a status or an error code) and its duration. */
export type FetchObserver = (host: string, result: string, seconds: number) => void;

/**
 * Puts the engine behind two protections for CAs' responders:
 * - a p-queue per responder host, bounding concurrency and rate, so a
 *   cluster with thousands of certificates does not flood one CA;
 * - one fetch in flight per certificate and responder: Secrets that share a
 *   certificate (the same tls.crt copied across namespaces) share its answer.
 */
export class StapleFetcher {
  private readonly queues = new Map<string, PQueue>();
  private readonly inFlight = new Map<string, Promise<FetchedStaple>>();
  private readonly client: OcspClient;
  private readonly limits: FetcherLimits;
  private readonly observe: FetchObserver;

  constructor(client: OcspClient, limits: FetcherLimits = DEFAULT_FETCHER_LIMITS, observe: FetchObserver = () => undefined) {
    this.client = client;
    this.limits = limits;
    this.observe = observe;
  }

  fetch(options: FetchOptions & { readonly issuer: Certificate }): Promise<FetchedStaple> {
    const url = options.urlOverride !== undefined && options.urlOverride !== "" ? options.urlOverride : (options.chain.leaf.ocspUrls[0] ?? "");
    const key = `${options.chain.leaf.sha256} ${url} ${options.issuer.sha256}`;
    const existing = this.inFlight.get(key);
    if (existing !== undefined) return existing;
    const fetched = this.queueFor(url).add(() => this.timed(hostOf(url), () => this.client.fetchStaple({ ...options, explicitIssuers: [options.issuer] })));
    const settled = fetched.finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, settled);
    return settled;
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

  private queueFor(url: string): PQueue {
    const host = hostOf(url);
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
