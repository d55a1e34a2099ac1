import type { Watch } from "@kubernetes/client-node";
import type { Logger } from "pino";

/** One page of a LIST: the raw items and the resourceVersion to watch from. */
export interface ListResult {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
}

export interface ReflectorOptions<T> {
  /** For logs: "tls-secrets/shop", "stapleconfigs". */
  readonly name: string;
  readonly list: () => Promise<ListResult>;
  readonly watch: Watch;
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
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

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
 * the version is too old, so it lists again; any other end or error
 * reconnects from the last version seen, after a capped, doubling backoff.
 */
export class Reflector<T> {
  readonly store: Map<string, T>;
  private resourceVersion = "";
  private stopped = false;
  private abort: AbortController | undefined;
  private failures = 0;
  /** Set by an ERROR event carrying 410 Gone: the next reconnect must list again. */
  private gone = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly options: ReflectorOptions<T>;

  constructor(options: ReflectorOptions<T>) {
    this.options = options;
    this.store = options.store ?? new Map<string, T>();
  }

  /** Resolves after the first LIST is in the cache: "caches synced". */
  async start(): Promise<void> {
    await this.relist();
    void this.watchFromLastVersion();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.abort?.abort();
  }

  private async relist(): Promise<void> {
    const page = await this.options.list();
    const seen = new Set<string>();
    for (const raw of page.items) {
      const item = this.options.transform(raw);
      if (item === undefined) continue;
      const key = this.options.keyOf(item);
      seen.add(key);
      this.put(key, item);
    }
    for (const key of [...this.store.keys()]) if (!seen.has(key)) this.remove(key);
    this.resourceVersion = page.resourceVersion;
  }

  private async watchFromLastVersion(): Promise<void> {
    if (this.stopped) return;
    try {
      this.abort = await this.options.watch.watch(
        this.options.watchPath,
        { ...this.options.watchQuery, resourceVersion: this.resourceVersion, allowWatchBookmarks: "true" },
        (type, object) => { this.handle({ type, object }); },
        (error: unknown) => { this.ended(error); },
      );
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
    this.failures = 0;
    if (event.type === "BOOKMARK") return;
    const item = this.options.transform(event.object);
    if (item === undefined) return;
    const key = this.options.keyOf(item);
    if (event.type === "DELETED") this.remove(key);
    else this.put(key, item);
  }

  /** The watch ended: normally (server timeout), with an error, or with 410 Gone. */
  private ended(error: unknown): void {
    if (this.stopped) return;
    const relist = this.gone || statusCodeOf(error) === GONE;
    this.gone = false;
    if (error !== null && error !== undefined && !relist) this.failures++;
    const { initialMs, maxMs } = this.options.backoff ?? { initialMs: 200, maxMs: 30_000 };
    const delay = this.failures === 0 ? 0 : Math.min(maxMs, initialMs * 2 ** (this.failures - 1));
    if (error !== null && error !== undefined) {
      this.options.logger.warn({ reflector: this.options.name, relist, delayMs: delay, err: describeError(error) }, "watch ended; reconnecting");
    }
    this.timer = setTimeout(() => {
      void (relist ? this.relist().then(() => this.watchFromLastVersion(), (listError: unknown) => { this.ended(listError); }) : this.watchFromLastVersion());
    }, delay);
  }

  private put(key: string, item: T): void {
    const previous = this.store.get(key);
    this.store.set(key, item);
    this.options.onChange(key, item, previous);
  }

  private remove(key: string): void {
    const previous = this.store.get(key);
    if (previous === undefined) return;
    this.store.delete(key);
    this.options.onChange(key, undefined, previous);
  }
}

function resourceVersionOf(object: unknown): string | undefined {
  const metadata = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
  return typeof metadata?.resourceVersion === "string" ? metadata.resourceVersion : undefined;
}

function statusCodeOf(value: unknown): number | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const record = value as { code?: unknown; statusCode?: unknown };
  const code = record.code ?? record.statusCode;
  return typeof code === "number" ? code : undefined;
}

/** A short description of an API error: never its body, which may hold a Secret. */
function describeError(error: unknown): string {
  const code = statusCodeOf(error);
  const message = error instanceof Error ? error.message.split("\n")[0] ?? "" : "";
  return code === undefined ? message : `HTTP ${code}`;
}
