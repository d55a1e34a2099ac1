// A staple's refresh jitter is its own: drawn from the certificate and thisUpdate, so a
// restarted controller computes the same refresh times (and writes no status for
// nothing), while staples issued together still spread.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { refreshJitter } from "../../src/staple/refresh-jitter.ts";

const THIS_UPDATE = new Date("2026-11-25T00:00:00Z");
const leafSha = (i: number) => createHash("sha256").update(`leaf ${String(i)}`).digest("hex");

void describe("refreshJitter", () => {
  void it("is the first 48 bits of SHA-256(leaf SHA-256, thisUpdate in ms), in [0, 1): the same in any process and any version", () => {
    // SHA-256("000…000 1795564800000") starts e3467756f2ec (Python's hashlib agrees): 0xe3467756f2ec / 2^48.
    assert.equal(refreshJitter("0".repeat(64), THIS_UPDATE), 0xe3467756f2ec / 2 ** 48);
  });

  void it("is the same for the same staple, however often it is asked", () => {
    const again = new Date(THIS_UPDATE.getTime());
    assert.equal(refreshJitter(leafSha(1), again), refreshJitter(leafSha(1), THIS_UPDATE));
  });

  void it("spreads staples issued together (one thisUpdate, 1,000 certificates) over the whole window, about evenly", () => {
    const shares = Array.from({ length: 1_000 }, (_, i) => refreshJitter(leafSha(i), THIS_UPDATE));
    assert.ok(shares.every((share) => share >= 0 && share < 1), "in [0, 1)");
    const tenths = Array.from({ length: 10 }, (_, tenth) => shares.filter((share) => Math.floor(share * 10) === tenth).length);
    // 100 expected in each tenth; 60..140 is more than five standard deviations wide.
    assert.ok(tenths.every((count) => count > 60 && count < 140), `per tenth of the window: ${tenths.join(", ")}`);
  });

  void it("moves with each new staple of one certificate (a later thisUpdate draws again)", () => {
    const shares = new Set(Array.from({ length: 100 }, (_, hour) => refreshJitter(leafSha(1), new Date(THIS_UPDATE.getTime() + hour * 3_600_000))));
    assert.equal(shares.size, 100);
  });
});
