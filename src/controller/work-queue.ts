import type { Scheduler, Timer } from "../ocsp/clock.ts";

/**
 * The controller's queue of items (sample-controller's workqueue, reduced to
 * what we need):
 * - an item is queued at most once, however often it is added;
 * - an item being processed is never handed out again until `done`, and an
 *   add meanwhile queues it once more afterwards (per-item serialisation);
 * - `addAfter` keeps the earliest of the delays asked for an item.
 * Items are told apart by `idOf`; they name objects, never carry them: the
 * worker reads the current state when it runs.
 */
export class WorkQueue<T> {
  private readonly ready: T[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Map<string, T>();
  private readonly delayed = new Map<string, { at: number; delayMs: number; timer: Timer }>();
  private waiters: ((item: T | undefined) => void)[] = [];
  private readonly idleWaiters: { readonly shortDelayMs: number; readonly resolve: () => void }[] = [];
  private closed = false;
  private readonly clock: Scheduler;
  private readonly idOf: (item: T) => string;

  constructor(clock: Scheduler, idOf: (item: T) => string) {
    this.clock = clock;
    this.idOf = idOf;
  }

  add(item: T): void {
    if (this.closed) return;
    const id = this.idOf(item);
    if (this.active.has(id)) {
      this.dirty.set(id, item);
      return;
    }
    if (this.queued.has(id)) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      this.active.add(id);
      waiter(item);
      return;
    }
    this.queued.add(id);
    this.ready.push(item);
  }

  addAfter(item: T, delayMs: number): void {
    // A retry asked for while stopping would only arm a timer for an item nobody takes.
    if (this.closed) return;
    if (delayMs <= 0) {
      this.add(item);
      return;
    }
    const id = this.idOf(item);
    const at = this.clock.now().getTime() + delayMs;
    const existing = this.delayed.get(id);
    if (existing !== undefined && existing.at <= at) return;
    existing?.timer.cancel();
    // Unref'd: a refresh hours away must not keep a stopping process alive.
    const timer = this.clock.setTimer(delayMs, () => {
      this.delayed.delete(id);
      this.add(item);
    }, { unref: true });
    this.delayed.set(id, { at, delayMs, timer });
  }

  /** Drops an item's pending `addAfter` (a deleted object has nothing to refresh), so its timer does not outlive it. */
  forgetDelayed(item: T): void {
    const id = this.idOf(item);
    this.delayed.get(id)?.timer.cancel();
    this.delayed.delete(id);
    this.notifyIdle();
  }

  /** The next item to process, or undefined once the queue is shut down. */
  next(): Promise<T | undefined> {
    const item = this.ready.shift();
    if (item !== undefined) {
      const id = this.idOf(item);
      this.queued.delete(id);
      this.active.add(id);
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(item: T): void {
    const id = this.idOf(item);
    this.active.delete(id);
    const again = this.dirty.get(id);
    if (again !== undefined) {
      this.dirty.delete(id);
      this.add(again);
    }
    this.notifyIdle();
  }

  get depth(): number {
    return this.ready.length;
  }

  /**
   * Resolves once nothing is queued and nothing is being processed, and no
   * item waits on an `addAfter` of at most `shortDelayMs` (longer ones, such
   * as refreshes hours away, do not count): the positive signal that every
   * item added so far has been handled, for a caller that must know the work
   * happened before it asserts that something did not. A short delay covers
   * work deferred on purpose for a moment, such as the controller's status
   * batches. Told apart by the delay asked for, not by when it falls due: a
   * test's clock may jump days ahead of the timers.
   */
  whenIdle(shortDelayMs = 0): Promise<void> {
    if (this.isIdle(shortDelayMs)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push({ shortDelayMs, resolve }));
  }

  /** Stops handing out items; workers waiting get undefined. */
  shutDown(): void {
    this.closed = true;
    for (const { timer } of this.delayed.values()) timer.cancel();
    this.delayed.clear();
    for (const waiter of this.waiters) waiter(undefined);
    this.waiters = [];
    this.notifyIdle();
  }

  private notifyIdle(): void {
    for (const waiter of [...this.idleWaiters]) {
      if (!this.isIdle(waiter.shortDelayMs)) continue;
      this.idleWaiters.splice(this.idleWaiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  private isIdle(shortDelayMs: number): boolean {
    if (this.ready.length > 0 || this.active.size > 0) return false;
    for (const { delayMs } of this.delayed.values()) if (delayMs <= shortDelayMs) return false;
    return true;
  }
}
