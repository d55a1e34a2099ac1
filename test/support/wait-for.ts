import { setTimeout as sleep } from "node:timers/promises";

/**
 * Polls `probe` every `intervalMs` until it returns something other than
 * undefined; fails after `timeoutMs` naming `what`. A probe that lists many
 * objects asks for a longer interval, so the API server is not kept busy. A probe that throws fails the wait at once (it
 * knows the awaited thing can no longer happen, e.g. a process exited).
 */
export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 15_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
