import { sleepOn, type Scheduler, type Timer } from "../../src/ocsp/clock.ts";

interface PendingTimer {
  readonly at: number;
  /** Arming order: timers due at the same instant fire in the order they were set, as Node's do. */
  readonly order: number;
  readonly fn: () => void;
}

/**
 * Manual time for tests (STYLE.md 13: time is a dependency). Nothing moves
 * until the test calls `advance`, which fires the timers that come due, in
 * time order, including timers set by those callbacks within the span, and
 * lets the promise callbacks each one starts run before the next fires. So a
 * test proves "not yet" by advancing to just before an instant and "now" by
 * advancing past it, without waiting for anything real.
 */
export class FakeScheduler implements Scheduler {
  private nowMs: number;
  private readonly timers = new Set<PendingTimer>();
  private armed = 0;

  constructor(start = new Date("2026-01-01T00:00:00Z")) {
    this.nowMs = start.getTime();
  }

  now(): Date {
    return new Date(this.nowMs);
  }

  setTimer(ms: number, fn: () => void): Timer {
    const timer = { at: this.nowMs + Math.max(0, ms), order: this.armed++, fn };
    this.timers.add(timer);
    return { cancel: () => { this.timers.delete(timer); } };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return sleepOn((delay, fn) => this.setTimer(delay, fn), ms, signal);
  }

  /** How far from now each armed timer is due, soonest first: what the code under test is waiting for. */
  get pending(): number[] {
    return [...this.timers].map((timer) => timer.at - this.nowMs).sort((a, b) => a - b);
  }

  /**
   * Moves time `ms` forward, firing each timer due by then at its own
   * instant (`now()` reads that instant inside the callback) and settling
   * after each, so work a callback starts has run before the next fires.
   */
  async advance(ms: number): Promise<void> {
    const until = this.nowMs + ms;
    for (;;) {
      await this.settle();
      const next = this.due(until);
      if (next === undefined) break;
      this.timers.delete(next);
      this.nowMs = next.at;
      next.fn();
    }
    this.nowMs = until;
    await this.settle();
  }

  /**
   * Resolves once every promise callback queued so far has run, and those
   * they queue in turn (the microtask queue drains before the next
   * macrotask). Work waiting on real I/O is not covered: the code under test
   * runs against fakes that answer at once.
   */
  settle(): Promise<void> {
    return settle();
  }

  private due(until: number): PendingTimer | undefined {
    let soonest: PendingTimer | undefined;
    for (const timer of this.timers) {
      if (timer.at <= until && (soonest === undefined || timer.at < soonest.at || (timer.at === soonest.at && timer.order < soonest.order))) soonest = timer;
    }
    return soonest;
  }
}

/**
 * Resolves once every promise callback queued so far has run, and those they
 * queue in turn: the microtask queue drains before the next macrotask.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => { setImmediate(resolve); });
}
