import type { Random } from "../staple/refresh-policy.ts";

/**
 * How long a failed item waits before its next try: 1 s after the first
 * failure, doubling with each consecutive one, at most 5 minutes.
 */
export const ERROR_BACKOFF = { initialMs: 1_000, maxMs: 5 * 60_000 } as const;

/** Jitter moves a retry up to this share of its delay earlier, so items that failed together do not retry together. */
export const ERROR_JITTER_SHARE = 0.2;

/**
 * Per-item exponential backoff for work that threw (an API write refused,
 * a connection cut), as client-go's ItemExponentialFailureRateLimiter plus
 * jitter: one item failing again and again backs off on its own while the
 * others carry on, and an API server coming back is not met by every item
 * at once. Only items that are failing are tracked: success and deletion
 * forget them, so the map never outgrows the failures.
 */
export class ErrorBackoff {
  private readonly failures = new Map<string, number>();
  private readonly random: Random;

  constructor(random: Random) {
    this.random = random;
  }

  /**
   * Counts one more consecutive failure of `id` and returns how long to wait
   * before retrying it, never less than `floorMs` (the API server's
   * Retry-After: it knows better than our schedule).
   */
  failed(id: string, floorMs = 0): number {
    const failures = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, failures);
    // The exponent is bounded so 2 ** n stays finite however long an item fails.
    const ceiling = Math.min(ERROR_BACKOFF.maxMs, ERROR_BACKOFF.initialMs * 2 ** Math.min(failures - 1, 32));
    return Math.max(floorMs, ceiling - this.random() * ERROR_JITTER_SHARE * ceiling);
  }

  /** Forgets `id`: it succeeded (its next failure starts again at 1 s), or its object is gone. */
  forget(id: string): void {
    this.failures.delete(id);
  }

  /** Consecutive failures of `id` so far (0 when it is not failing). */
  failuresOf(id: string): number {
    return this.failures.get(id) ?? 0;
  }

  /** How many items are failing: what a test checks to prove that nothing leaks. */
  get size(): number {
    return this.failures.size;
  }
}
