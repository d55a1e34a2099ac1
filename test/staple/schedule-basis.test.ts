// The basis of a Secret's schedule is a short digest of the leaf and the config's spec:
// equal exactly when they are, whichever of the three changes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { scheduleBasis } from "../../src/staple/schedule-basis.ts";

const LEAF = "ab".repeat(32);
const UID = "7c4b2a36-3a8e-4c59-9d1e-0f2b6f9a1c11";

void describe("scheduleBasis", () => {
  void it("is the same for the same leaf, config and generation, and short: 16 base64url characters", () => {
    const basis = scheduleBasis(LEAF, UID, 3);
    assert.equal(scheduleBasis("ab".repeat(32), UID, 3), basis);
    assert.match(basis, /^[A-Za-z0-9_-]{16}$/);
  });

  void it("changes with the certificate, with the config (a new uid) and with its spec (a new generation)", () => {
    const bases = [scheduleBasis(LEAF, UID, 3), scheduleBasis("cd".repeat(32), UID, 3), scheduleBasis(LEAF, UID.replace("7c", "8c"), 3), scheduleBasis(LEAF, UID, 4)];
    assert.equal(new Set(bases).size, bases.length);
  });
});
