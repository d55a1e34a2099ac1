import assert from "node:assert/strict";
import { it } from "node:test";
import { leafOutsideValidity, NOT_BEFORE_SKEW_MS } from "../../src/staple/leaf-validity.ts";

const leaf = { notBefore: new Date("2026-01-01T00:00:00Z"), notAfter: new Date("2026-04-01T00:00:00Z") };
const at = (iso: string) => new Date(iso);

void it("a leaf outside its validity: expired (never rechecked), not yet valid (rechecked at notBefore), or fine", () => {
  const cases: [string, Date, string | undefined, Date | undefined][] = [
    ["inside", at("2026-02-01T00:00:00Z"), undefined, undefined],
    ["at notAfter", leaf.notAfter, "CertificateExpired", undefined],
    ["after notAfter", at("2026-05-01T00:00:00Z"), "CertificateExpired", undefined],
    ["before notBefore, beyond the skew", new Date(leaf.notBefore.getTime() - NOT_BEFORE_SKEW_MS - 1), "CertificateNotYetValid", leaf.notBefore],
    ["before notBefore, within the skew", new Date(leaf.notBefore.getTime() - NOT_BEFORE_SKEW_MS + 1000), undefined, undefined],
  ];
  for (const [name, now, reason, recheckAt] of cases) {
    const verdict = leafOutsideValidity(leaf, now);
    assert.equal(verdict?.reason, reason, name);
    assert.deepEqual(verdict?.recheckAt, recheckAt, name);
  }
});
