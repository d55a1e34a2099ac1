// Whether a reconcile will most likely fetch, from what is known before parsing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fetchLikely, type BeforeParse } from "../../src/staple/fetch-likely.ts";

const NOW = new Date("2026-11-30T12:00:00Z");
const LEAF = "a".repeat(64);
const base: BeforeParse = { leafSha256: LEAF, stapleInPlaceFor: LEAF, nextCheckAtMs: undefined, now: NOW };

void describe("fetchLikely", () => {
  const rows: [string, Partial<BeforeParse>, boolean][] = [
    ["no staple in place", { stapleInPlaceFor: undefined }, true],
    ["a staple in place for another certificate (renewed)", { stapleInPlaceFor: "b".repeat(64) }, true],
    ["a staple in place, never reconciled here (a restart): only re-verified", {}, false],
    ["a staple in place, its check not due", { nextCheckAtMs: NOW.getTime() + 1 }, false],
    ["a staple in place, its check due now", { nextCheckAtMs: NOW.getTime() }, true],
    ["a staple in place, its check overdue", { nextCheckAtMs: NOW.getTime() - 60_000 }, true],
  ];
  for (const [name, change, expected] of rows) {
    void it(`${name}: ${expected ? "fetch" : "no fetch"}`, () => { assert.equal(fetchLikely({ ...base, ...change }), expected); });
  }
});
