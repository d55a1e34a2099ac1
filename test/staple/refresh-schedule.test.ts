import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseDuration } from "../../src/staple/duration.ts";
import { DEFAULT_REFRESH_POLICY } from "../../src/staple/refresh-policy.ts";
import { refreshAt, retryDelayMs } from "../../src/staple/refresh-schedule.ts";

void describe("retryDelayMs", () => {
  const cases: [number, number, number][] = [
    // attempt, random, expected ms: ceilings 10 s, 20 s, 40 s … capped at 30 min; equal jitter = half + random * half
    [1, 0, 5_000], [1, 0.999999, 9_999.99], [2, 0, 10_000], [3, 0.5, 30_000], [9, 0, 900_000], [10, 0, 900_000], [100, 1, 1_800_000], [5000, 0.5, 1_350_000],
  ];
  for (const [attempt, random, expected] of cases) {
    void it(`attempt ${attempt}, random ${random} -> ${expected} ms`, () => {
      assert.ok(Math.abs(retryDelayMs(attempt, DEFAULT_REFRESH_POLICY, () => random) - expected) < 0.01);
    });
  }
});

void describe("refreshAt", () => {
  const thisUpdate = new Date("2026-11-25T00:00:00Z");
  const usableUntil = new Date("2026-12-02T00:00:00Z");
  const staple = (certificateSha256: string) => ({ thisUpdate, usableUntil, certificateSha256 });
  const dueWithoutJitter = new Date("2026-11-28T12:00:00Z").getTime();

  void it("refreshes at half the window less the staple's own share of the 10% jitter", () => {
    // That staple's share is 0.8878 (refresh-jitter.test.ts): 3.5 days less 0.8878 × 0.35 days.
    assert.equal(refreshAt(staple("0".repeat(64)), thisUpdate, DEFAULT_REFRESH_POLICY).toISOString(), "2026-11-28T04:32:33.110Z");
  });

  void it("gives the same staple the same time whenever it is asked: a restart reschedules it where it was", () => {
    const fetched = refreshAt(staple("ab".repeat(32)), new Date(thisUpdate.getTime() + 2_000), DEFAULT_REFRESH_POLICY);
    const restarted = refreshAt({ ...staple("ab".repeat(32)), thisUpdate: new Date(thisUpdate.getTime()) }, thisUpdate, DEFAULT_REFRESH_POLICY);
    assert.equal(restarted.getTime(), fetched.getTime());
  });

  void it("spreads staples issued together over the 10% before the due point, never after it", () => {
    const times = Array.from({ length: 1_000 }, (_, i) => refreshAt(staple(String(i).padStart(64, "0")), thisUpdate, DEFAULT_REFRESH_POLICY).getTime());
    const jitterMs = 0.1 * 3.5 * 86_400_000;
    assert.ok(times.every((time) => time > dueWithoutJitter - jitterMs && time <= dueWithoutJitter), "within the jitter window");
    assert.ok(Math.max(...times) - Math.min(...times) > 0.9 * jitterMs, "over all of it");
  });

  void it("a response fetched late in its window refreshes minInterval after the fetch", () => {
    const fetchedAt = new Date("2026-11-30T00:00:00Z");
    assert.equal(refreshAt(staple("0".repeat(64)), fetchedAt, DEFAULT_REFRESH_POLICY).toISOString(), "2026-11-30T00:05:00.000Z");
  });
});

void describe("parseDuration", () => {
  const valid: [string, number][] = [["10s", 10_000], ["5m", 300_000], ["1h30m", 5_400_000], ["1.5s", 1_500], ["250ms", 250], ["2h0m3s", 7_203_000]];
  for (const [text, ms] of valid) void it(`${text} = ${ms} ms`, () => { assert.equal(parseDuration(text), ms); });
  for (const text of ["", "5", "5 minutes", "-5m", "1d", "m5", "5m "]) {
    void it(`refuses "${text}"`, () => { assert.throws(() => parseDuration(text), RangeError); });
  }
});
