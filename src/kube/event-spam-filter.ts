/** Events about one object in a burst, then one more per REFILL_MS: client-go's EventSourceObjectSpamFilter. */
const BURST = 25;
const REFILL_MS = 5 * 60_000;
/** Buckets are swept of full ones (objects quiet for a while) once there are more than this. */
const SWEEP_ABOVE = 1_000;

/**
 * A token bucket per involved object, as client-go's event recorder keeps:
 * 25 Events at once, then one every 5 minutes. A cold start of 10,000
 * Secrets under one StapleConfig recorded 10,000 `Stapled` Events on that
 * StapleConfig (one per Secret, beside the one on each Secret), which the API
 * server stored and `kubectl describe` could not show anyway; the Secrets'
 * own Events, one or two each, all pass.
 */
export class EventSpamFilter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /**
   * The next sweep comes when the buckets have doubled since the last one:
   * a cold start of 10,000 Secrets keeps 10,000 buckets that are not full
   * yet, and sweeping all of them at each Event made recording quadratic.
   */
  private sweepAbove = SWEEP_ABOVE;

  /** Whether one more Event about `object` (its uid) may be written at `now` (epoch ms); takes a token if so. */
  allow(object: string, now: number): boolean {
    if (this.buckets.size > this.sweepAbove) this.sweep(now);
    const bucket = this.buckets.get(object);
    const tokens = bucket === undefined ? BURST : refilled(bucket, now);
    if (tokens < 1) return false;
    this.buckets.set(object, { tokens: tokens - 1, at: now });
    return true;
  }

  /** How many objects have a bucket that is not full (and a few full ones not swept yet). */
  get tracked(): number {
    return this.buckets.size;
  }

  /** Drops the buckets that have refilled: a new one starts full anyway. */
  private sweep(now: number): void {
    for (const [object, bucket] of this.buckets) if (refilled(bucket, now) >= BURST) this.buckets.delete(object);
    this.sweepAbove = Math.max(SWEEP_ABOVE, 2 * this.buckets.size);
  }
}

function refilled(bucket: { tokens: number; at: number }, now: number): number {
  return Math.min(BURST, bucket.tokens + (now - bucket.at) / REFILL_MS);
}
