/**
 * Where the engine reads the time. Injected everywhere a validity window is
 * checked, so tests can verify years-old real responses at the instant they were
 * fresh, and the operator's scheduler can be tested without sleeping.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock frozen at one instant (tests, `inspect --at`). */
export function fixedClock(at: Date): Clock {
  const frozen = new Date(at.getTime());
  return { now: () => new Date(frozen.getTime()) };
}
