import type { Random, RefreshPolicy } from "./refresh-policy.ts";
import { refreshJitter } from "./refresh-jitter.ts";

/** Jitter moves a refresh up to this share of its delay earlier, so many staples issued together do not refresh together. */
export const JITTER_SHARE = 0.1;

export interface StapleWindow {
  readonly thisUpdate: Date;
  /** The end of the usable window (VerifiedResponse.usableUntil). */
  readonly usableUntil: Date;
  /** SHA-256 of the leaf the staple is for: with thisUpdate, it draws the staple's jitter. */
  readonly certificateSha256: string;
}

/**
 * When to fetch a fresh staple (DESIGN.md, "Refresh timing"): at `fraction`
 * of thisUpdate..usableUntil, minus up to 10% jitter (the staple's own,
 * `refreshJitter`: the same in every process), never sooner than
 * `minInterval` after the last fetch (to spare the CA), and never later than
 * the staple's usable end (so a staple is never left to lapse unasked). When
 * the two bounds conflict (a window shorter than minInterval) the usable end
 * wins: a fetch at expiry is better than a gap.
 */
export function refreshAt(staple: StapleWindow, fetchedAt: Date, policy: RefreshPolicy): Date {
  const start = staple.thisUpdate.getTime();
  const end = staple.usableUntil.getTime();
  const delay = Math.max(0, (end - start) * policy.fraction);
  const due = start + delay - refreshJitter(staple.certificateSha256, staple.thisUpdate) * JITTER_SHARE * delay;
  const notBefore = fetchedAt.getTime() + policy.minIntervalMs;
  return new Date(Math.min(Math.max(due, notBefore), end));
}

/**
 * How long to wait after the `attempt`-th consecutive failure (1-based):
 * doubling from retry.initial up to retry.max, with "equal jitter" (between
 * half and all of that), so responders recovering from an outage are not hit
 * by every operator at once. Random, unlike a refresh's jitter: a retry's
 * time is never reported, so it need not survive a restart.
 */
export function retryDelayMs(attempt: number, policy: RefreshPolicy, random: Random): number {
  const ceiling = Math.min(policy.retry.maxMs, policy.retry.initialMs * 2 ** Math.max(0, attempt - 1));
  return ceiling / 2 + (random() * ceiling) / 2;
}
