import type { Watch } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Scheduler, Timer } from "../ocsp/clock.ts";
import { describeApiError, isTimeout, retryAfterMs, statusCodeOf } from "./api-error.ts";

/** One page of a LIST: the raw items and the resourceVersion to watch from. */
export interface ListResult {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
}

export interface ReflectorOptions<T> {
  /** For logs: "tls-secrets/shop", "stapleconfigs". */
  readonly name: string;
  readonly list: () => Promise<ListResult>;
  /** client-node's Watch (only its `watch` method is used: a test can hand in its own). */
  readonly watch: Pick<Watch, "watch">;
  readonly watchPath: string;
  readonly watchQuery: Readonly<Record<string, string>>;
  /**
   * Turns a raw object into what the cache keeps, or undefined to ignore it.
   * This is where secrets lose `tls.key` before anything stores them.
   */
  readonly transform: (raw: unknown) => T | undefined;
  readonly keyOf: (item: T) => string;
  /** Called for every change after the cache has it; `item` undefined means deleted. */
  readonly onChange: (key: string, item: T | undefined, previous: T | undefined) => void;
  /** The map to keep the cache in (shared with readers); a new one if not given. */
  readonly store?: Map<string, T>;
  readonly logger: Logger;
  /** The API server's URL, named in every log line about a failure. */
  readonly server?: string;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  /** Told how each LIST attempt and each watch ended (metrics, tests). */
  readonly onEnd?: (end: ReflectorEnd) => void;
  /** The time for `failingSince`, and the timers of backoff and reconnects. */
  readonly clock: Scheduler;
}

/**
 * How a LIST or a watch ended:
 * - `closed`: the server ended the watch (its timeoutSeconds): normal, reconnect at once;
 * - `idle`: nothing came for client-node's 30 s inactivity limit: normal too;
 * - `gone`: 410 Gone, the resourceVersion was compacted: list again;
 * - `failed`: an error: reconnect after a doubling, capped backoff.
 */
export type ReflectorEnd = "closed" | "idle" | "gone" | "failed";

/** client-go asks the server to end each watch after a random 5 to 10 minutes, spreading reconnects. */
const MIN_WATCH_SECONDS = 300;

interface WatchEvent {
  readonly type: string;
  readonly object: unknown;
}

const GONE = 410;

/**
 * A cache kept in step with the API server by list + watch, written because
 * client-node's informer cannot drop key material before caching and stops
 * for good on most errors (../shared/notes/libraries.md). It lists, then
 * watches from the list's resourceVersion with bookmarks; a 410 Gone means
 * the version is too old, so it lists again; a watch the server or the idle
 * timer ended reconnects at once from the last version seen; an error
 * reconnects after a capped, doubling backoff (or the server's Retry-After).
 * The first LIST is retried the same way until it succeeds or `stop` is
 * called: an API server that is still starting (429, connection refused) is
 * waited for, not fatal.
 */
export class Reflector<T> {
  readonly store: Map<string, T>;
  /** The keys this reflector put into `store`, which it may share with the reflectors of other namespaces. */
  private readonly keys = new Set<string>();
  private resourceVersion = "";
  private stopped = false;
  private abort: AbortController | undefined;
  private failures = 0;
  private firstFailureAt: number | undefined;
  /** Set by an ERROR event carrying 410 Gone: the next reconnect must list again. */
  private gone = false;
  /** The pending reconnect after a watch ended. */
  private timer: Timer | undefined;
  /** Aborted by `stop`: wakes a LIST retry that is waiting out its backoff. */
  private readonly stopping = new AbortController();
  private readonly options: ReflectorOptions<T>;

  constructor(options: ReflectorOptions<T>) {
    this.options = options;
    this.store = options.store ?? new Map<string, T>();
  }

  /** Resolves true once the first LIST is in the cache ("caches synced"), false if stopped before. */
  async start(): Promise<boolean> {
    while (!this.stopped) {
      try {
        await this.relist();
        if (this.isStopped()) break;
        this.succeeded();
        void this.watchFromLastVersion();
        return true;
      } catch (error) {
        if (this.isStopped()) break;
        await this.options.clock.sleep(this.failed(error, "list failed; retrying"), this.stopping.signal);
      }
    }
    return false;
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.stopping.abort();
    this.abort?.abort();
  }

  /** Read through a method: `stop` may have run during any await (no narrowing across it). */
  private isStopped(): boolean {
    return this.stopped;
  }

  /** When the current run of failed LISTs and watches began (epoch ms); undefined while all is well. */
  get failingSince(): number | undefined {
    return this.firstFailureAt;
  }

  private async relist(): Promise<void> {
    const page = await this.options.list();
    if (this.isStopped()) return;
    const seen = new Set<string>();
    for (const raw of page.items) {
      const item = this.options.transform(raw);
      if (item === undefined) continue;
      const key = this.options.keyOf(item);
      seen.add(key);
      this.put(key, item);
    }
    // Only what this reflector put: with several namespaces watched, reflectors share one store.
    for (const key of [...this.keys]) if (!seen.has(key)) this.remove(key);
    this.resourceVersion = page.resourceVersion;
  }

  private async watchFromLastVersion(): Promise<void> {
    if (this.stopped) return;
    const timeoutSeconds = String(MIN_WATCH_SECONDS + Math.floor(Math.random() * MIN_WATCH_SECONDS));
    try {
      this.abort = await this.options.watch.watch(
        this.options.watchPath,
        { ...this.options.watchQuery, resourceVersion: this.resourceVersion, allowWatchBookmarks: "true", timeoutSeconds },
        (type, object) => { this.handle({ type, object }); },
        (error: unknown) => { this.ended(error); },
      );
      if (this.isStopped()) this.abort.abort();
    } catch (error) {
      this.ended(error);
    }
  }

  private handle(event: WatchEvent): void {
    const version = resourceVersionOf(event.object);
    if (event.type === "ERROR") {
      this.gone = statusCodeOf(event.object) === GONE;
      return;
    }
    if (version !== undefined) this.resourceVersion = version;
    this.succeeded();
    if (event.type === "BOOKMARK") return;
    const item = this.options.transform(event.object);
    if (item === undefined) return;
    const key = this.options.keyOf(item);
    if (event.type === "DELETED") this.remove(key);
    else this.put(key, item);
  }

  /** The watch ended: normally (server timeout, idle), with 410 Gone, or with an error. */
  private ended(error: unknown): void {
    if (this.stopped) return;
    const relist = this.gone || statusCodeOf(error) === GONE;
    this.gone = false;
    const end: ReflectorEnd = relist ? "gone" : error === null || error === undefined ? "closed" : isTimeout(error) ? "idle" : "failed";
    let delay = 0;
    if (end === "failed") delay = this.failed(error, "watch ended; reconnecting");
    else {
      this.options.onEnd?.(end);
      this.options.logger.debug({ reflector: this.options.name, end }, end === "gone" ? "watch expired (410 Gone); listing again" : "watch ended normally; reconnecting");
    }
    this.timer = this.options.clock.setTimer(delay, () => {
      void (relist ? this.relist().then(() => this.watchFromLastVersion(), (listError: unknown) => { this.ended(listError); }) : this.watchFromLastVersion());
    });
  }

  /** Counts a failure, logs it with the server and the cause, and returns how long to wait. */
  private failed(error: unknown, message: string): number {
    this.failures++;
    this.firstFailureAt ??= this.options.clock.now().getTime();
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 200, maxMs: 30_000 };
    const delayMs = Math.max(retryAfterMs(error) ?? 0, Math.min(maxMs, initialMs * 2 ** (this.failures - 1)));
    this.options.onEnd?.("failed");
    this.options.logger.warn({ reflector: this.options.name, server: this.options.server, failures: this.failures, delayMs, err: describeApiError(error) }, message);
    return delayMs;
  }

  private succeeded(): void {
    this.failures = 0;
    this.firstFailureAt = undefined;
  }

  private put(key: string, item: T): void {
    const previous = this.store.get(key);
    this.keys.add(key);
    this.store.set(key, item);
    this.options.onChange(key, item, previous);
  }

  private remove(key: string): void {
    const previous = this.store.get(key);
    if (previous === undefined) return;
    this.keys.delete(key);
    this.store.delete(key);
    this.options.onChange(key, undefined, previous);
  }
}

function resourceVersionOf(object: unknown): string | undefined {
  const metadata = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
  return typeof metadata?.resourceVersion === "string" ? metadata.resourceVersion : undefined;
}
