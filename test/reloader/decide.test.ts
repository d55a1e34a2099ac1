import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { VerifiedResponse } from "../../src/ocsp/verified-response.ts";
import { decidePair, type Installed, type PairDecision } from "../../src/reloader/decide.ts";
import type { StapleCheck } from "../../src/reloader/staple-check.ts";

/** A verified response whose bytes are `[id]`, with thisUpdate `hour` o'clock. */
function response(id: number, hour: number): VerifiedResponse {
  const thisUpdate = new Date(Date.UTC(2026, 10, 25, hour));
  return {
    der: new Uint8Array([id]), certStatus: { kind: "good" }, serial: "0a", certIdHash: "sha1", singleResponses: 1, subjectIndex: 0, producedAt: thisUpdate, thisUpdate,
    nextUpdate: new Date(thisUpdate.getTime() + 7 * 86_400_000), usableUntil: new Date(thisUpdate.getTime() + 7 * 86_400_000),
    signer: { kind: "issuer", subject: "CN=int", notAfter: new Date(Date.UTC(2030, 0, 1)) },
  };
}
const verified = (r: VerifiedResponse): StapleCheck => ({ kind: "verified", response: r });
const missing: StapleCheck = { kind: "missing" };
const rejected = (reason: "Expired" | "CertIDMismatch" | "MalformedResponse"): StapleCheck => ({ kind: "rejected", reason, message: reason });
const installed = (r: VerifiedResponse, check: StapleCheck = verified(r)): Installed => ({ der: r.der, check });

const old = response(1, 8);
const fresh = response(2, 10);

const cases: { name: string; mounted: StapleCheck; installed?: Installed; canWithdraw?: boolean; expect: PairDecision["action"]; why?: string }[] = [
  { name: "nothing in place, a verified staple mounted: install", mounted: verified(fresh), expect: "install" },
  { name: "the same bytes in place: keep (no push, no reload)", mounted: verified(fresh), installed: installed(fresh), expect: "keep" },
  { name: "a newer staple mounted: install", mounted: verified(fresh), installed: installed(old), expect: "install" },
  { name: "an older staple mounted: keep the newer one in place", mounted: verified(old), installed: installed(fresh), expect: "keep" },
  { name: "the one in place no longer verifies (certificate rotated), a verified one mounted: install", mounted: verified(old), installed: installed(fresh, rejected("CertIDMismatch")), expect: "install" },
  { name: "a bad staple mounted, a good one in place: keep it", mounted: rejected("MalformedResponse"), installed: installed(fresh), expect: "keep" },
  { name: "a bad staple mounted, nothing in place: nothing to do", mounted: rejected("CertIDMismatch"), expect: "keep" },
  { name: "staple gone from the volume: withdraw (nginx)", mounted: missing, installed: installed(fresh), expect: "withdraw", why: "StapleMissing" },
  { name: "the staple in place expired, the mounted one too: withdraw (nginx)", mounted: rejected("Expired"), installed: installed(fresh, rejected("Expired")), expect: "withdraw", why: "Expired" },
  { name: "staple gone from the volume, a server that cannot drop one: keep", mounted: missing, installed: installed(fresh), canWithdraw: false, expect: "keep" },
  { name: "the staple in place expired, a server that cannot drop one: keep", mounted: rejected("Expired"), installed: installed(fresh, rejected("Expired")), canWithdraw: false, expect: "keep" },
];

void describe("decidePair: what the reloader does with one certificate's staple", () => {
  for (const c of cases) {
    void it(c.name, () => {
      const decision = decidePair(c.mounted, c.installed, c.canWithdraw ?? true);
      assert.equal(decision.action, c.expect);
      if (decision.action === "install") assert.equal(decision.response, c.mounted.kind === "verified" ? c.mounted.response : undefined);
      if (decision.action === "withdraw") assert.equal(decision.why, c.why);
    });
  }
});
