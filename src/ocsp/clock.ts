/**
 * Where the engine reads the time. Injected everywhere a validity window is
 * checked, so tests can verify years-old real responses at the instant they were
 * fresh, and the operator's scheduler can be tested without sleeping.
 */
export interface Clock {
  now(): Date;
}

/** A clock frozen at one instant (tests, `inspect --at`). */
export function fixedClock(at: Date): Clock {
  const frozen = new Date(at.getTime());
  return { now: () => new Date(frozen.getTime()) };
}

/** A timer armed by `Scheduler.setTimer`. */
export interface Timer {
  /** Keeps it from firing; harmless after it fired or was cancelled already. */
  cancel(): void;
}

export interface TimerOptions {
  /**
   * The timer alone does not keep the process alive (Node's `unref`): for
   * waits that matter only while something else runs, such as a Secret's
   * refresh hours away.
   */
  readonly unref?: boolean;
}

/**
 * Time for code that waits: the clock and its timers in one interface, so a
 * test moves time instead of sleeping (STYLE.md 13), and the time code reads
 * and the time its timers fire at can never disagree.
 */
export interface Scheduler extends Clock {
  /** Calls `fn` once, `ms` from now (on a later turn when `ms` ≤ 0). Any delay works, years included. */
  setTimer(ms: number, fn: () => void, options?: TimerOptions): Timer;
  /**
   * Resolves `ms` from now, or as soon as `signal` aborts: it resolves then
   * too, never rejects, because waking a sleeper early is how a stop is told.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** setTimeout fires at once for delays above 2^31-1 ms (about 24.8 days): longer waits are armed in pieces. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

function systemSetTimer(ms: number, fn: () => void, options?: TimerOptions): Timer {
  let handle: NodeJS.Timeout | undefined;
  const arm = (left: number): void => {
    const piece = Math.min(Math.max(0, left), MAX_TIMEOUT_MS);
    handle = setTimeout(() => { if (left > piece) arm(left - piece); else fn(); }, piece);
    if (options?.unref === true) handle.unref();
  };
  arm(ms);
  return { cancel: () => { clearTimeout(handle); } };
}

/**
 * The real clock, with Node's timers: the one source of time outside tests.
 * A plain object of functions, so a test can spread it to shift `now` while
 * keeping real timers: `{ ...systemClock, now: () => later }`.
 */
export const systemClock: Scheduler = {
  now: () => new Date(),
  setTimer: systemSetTimer,
  sleep: (ms, signal) => sleepOn(systemSetTimer, ms, signal),
};

/** `Scheduler.sleep` built on a `setTimer`: shared by every implementation, so all wake the same way. */
export function sleepOn(setTimer: Scheduler["setTimer"], ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const wake = (): void => {
      timer.cancel();
      resolve();
    };
    const timer = setTimer(ms, () => {
      signal?.removeEventListener("abort", wake);
      resolve();
    });
    signal?.addEventListener("abort", wake, { once: true });
  });
}
