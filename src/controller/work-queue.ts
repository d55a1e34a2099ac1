/** setTimeout fires at once for delays above 2^31-1 ms (about 24.8 days): longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The controller's queue of keys (sample-controller's workqueue, reduced to
 * what we need):
 * - a key is queued at most once, however often it is added;
 * - a key being processed is never handed out again until `done`, and an add
 *   meanwhile queues it once more afterwards (per-key serialisation);
 * - `addAfter` keeps the earliest of the delays asked for a key.
 * Keys, never objects: the worker reads the current state when it runs.
 */
export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private waiters: ((key: string | undefined) => void)[] = [];
  private closed = false;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  add(key: string): void {
    if (this.closed) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.active.add(key);
      waiter(key);
      return;
    }
    this.queued.add(key);
    this.ready.push(key);
  }

  addAfter(key: string, delayMs: number): void {
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing !== undefined && existing.at <= at) return;
    clearTimeout(existing?.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      if (this.now() >= at) this.add(key);
      else this.addAfter(key, at - this.now());
    }, Math.min(delayMs, MAX_TIMER_MS));
    timer.unref();
    this.delayed.set(key, { at, timer });
  }

  /** Drops a key's pending `addAfter` (a deleted object has nothing to refresh), so its timer does not outlive it. */
  forgetDelayed(key: string): void {
    clearTimeout(this.delayed.get(key)?.timer);
    this.delayed.delete(key);
  }

  /** The next key to process, or undefined once the queue is shut down. */
  next(): Promise<string | undefined> {
    const key = this.ready.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.active.add(key);
      return Promise.resolve(key);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.active.delete(key);
    if (this.dirty.delete(key)) this.add(key);
  }

  get depth(): number {
    return this.ready.length;
  }

  /** Stops handing out keys; workers waiting get undefined. */
  shutDown(): void {
    this.closed = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    for (const waiter of this.waiters) waiter(undefined);
    this.waiters = [];
  }
}
