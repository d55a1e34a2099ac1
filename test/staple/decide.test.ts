// The staple policy as a table of named cases: given the staple in place, what the
// engine returned and the time, what is written, kept or withdrawn, and when to look
// again. Pure functions, a fixed clock and a fixed random source (for retries; a refresh's
// jitter is the staple's own).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CertStatus } from "../../src/ocsp/cert-status.ts";
import type { VerifiedResponse } from "../../src/ocsp/verified-response.ts";
import { decide, type CurrentStaple, type Decision, type DecisionInput, type FetchOutcome } from "../../src/staple/decide.ts";
import { DEFAULT_REFRESH_POLICY } from "../../src/staple/refresh-policy.ts";
import { refreshJitter } from "../../src/staple/refresh-jitter.ts";
import { JITTER_SHARE } from "../../src/staple/refresh-schedule.ts";

const HOUR = 3_600_000;
const NOW = new Date("2026-11-25T12:00:00Z");
const at = (hoursFromNow: number) => new Date(NOW.getTime() + hoursFromNow * HOUR);
const CERT = "sha256-of-the-leaf";

function response(thisUpdateHours: number, usableForHours: number, status: CertStatus = { kind: "good" }): VerifiedResponse {
  return {
    der: new Uint8Array([0x30]), certStatus: status, serial: "0a", certIdHash: "sha1", singleResponses: 1, subjectIndex: 0,
    producedAt: at(thisUpdateHours), thisUpdate: at(thisUpdateHours), nextUpdate: at(thisUpdateHours + usableForHours),
    usableUntil: at(thisUpdateHours + usableForHours), signer: { kind: "issuer", subject: "CN=CA", notAfter: at(1e4) },
  };
}
const verified = (r: VerifiedResponse): FetchOutcome => ({ kind: "verified", response: r });
const failed: FetchOutcome = { kind: "failed", code: "ResponderTimeout" };
const staple = (thisUpdateHours: number, usableUntilHours: number, certificateSha256 = CERT): CurrentStaple => ({ thisUpdate: at(thisUpdateHours), usableUntil: at(usableUntilHours), certificateSha256 });

function input(outcome: FetchOutcome, current?: CurrentStaple, failuresBefore = 0): DecisionInput {
  return { certificateSha256: CERT, outcome, failuresBefore, now: NOW, policy: DEFAULT_REFRESH_POLICY, random: () => 0.5, ...(current === undefined ? {} : { current }) };
}

/** Half the window after thisUpdate, less the staple's own share of the 10% jitter (drawn from CERT and thisUpdate). */
function halfLessJitter(thisUpdateHours: number, usableForHours: number): Date {
  const thisUpdate = at(thisUpdateHours);
  const delay = usableForHours * HOUR * 0.5;
  return new Date(thisUpdate.getTime() + delay - refreshJitter(CERT, thisUpdate) * JITTER_SHARE * delay);
}

type Expect = Pick<Decision, "action" | "reason"> & { nextCheckAt: Date; fetchReason?: string };

const CASES: [string, DecisionInput, Expect][] = [
  // Half of a 96 h window is 48 h, less the staple's share of the 10% jitter (up to 4.8 h).
  ["first good answer: written, refreshed at half its window less its jitter",
    input(verified(response(0, 96))), { action: "write", reason: "Stapled", nextCheckAt: halfLessJitter(0, 96) }],
  ["a revoked answer is written too (clients must fail closed)",
    input(verified(response(0, 96, { kind: "revoked", revokedAt: at(-1) }))), { action: "write", reason: "Revoked", nextCheckAt: halfLessJitter(0, 96) }],
  ["a newer answer replaces the staple in place",
    input(verified(response(0, 96)), staple(-48, 48)), { action: "write", reason: "Stapled", nextCheckAt: halfLessJitter(0, 96) }],
  ["an older answer (a stale CDN) never replaces a newer staple: kept, retried with backoff",
    input(verified(response(-72, 96)), staple(-48, 48)), { action: "keep", reason: "OlderResponse", nextCheckAt: new Date(NOW.getTime() + 7_500) }],
  ["unknown is never stapled: the previous staple stays",
    input(verified(response(0, 96, { kind: "unknown" })), staple(-48, 48)), { action: "keep", reason: "CertStatusUnknown", nextCheckAt: new Date(NOW.getTime() + 7_500) }],
  ["a failure keeps a usable staple and retries with backoff",
    input(failed, staple(-48, 48), 3), { action: "keep", reason: "ResponderTimeout", nextCheckAt: new Date(NOW.getTime() + 60_000) }],
  ["backoff never passes the staple's withdrawal, 30 s before its usable end",
    input(failed, staple(-95.99, 0.01), 20), { action: "keep", reason: "ResponderTimeout", nextCheckAt: new Date(at(0.01).getTime() - 30_000) }],
  ["a failure within those 30 s withdraws the staple",
    input(failed, staple(-96, 0.005)), { action: "withdraw", reason: "StapleExpired", fetchReason: "ResponderTimeout", nextCheckAt: new Date(NOW.getTime() + 7_500) }],
  ["a short window is withdrawn a fiftieth of it before its end (2.4 s of 2 minutes)",
    input(failed, staple(-100 / 3600, 20 / 3600), 20), { action: "keep", reason: "ResponderTimeout", nextCheckAt: new Date(at(20 / 3600).getTime() - 2_400) }],
  ["a failure at the usable end withdraws the staple",
    input(failed, staple(-96, 0)), { action: "withdraw", reason: "StapleExpired", fetchReason: "ResponderTimeout", nextCheckAt: new Date(NOW.getTime() + 7_500) }],
  ["a failure with nothing in place changes nothing",
    input(failed), { action: "keep", reason: "ResponderTimeout", nextCheckAt: new Date(NOW.getTime() + 7_500) }],
  ["a staple for the previous certificate is withdrawn when the new one cannot be stapled yet",
    input(failed, staple(-1, 95, "sha256-of-the-old-leaf")), { action: "withdraw", reason: "CertificateChanged", fetchReason: "ResponderTimeout", nextCheckAt: new Date(NOW.getTime() + 7_500) }],
  ["a staple for the previous certificate is replaced at once by a verified one, even if older",
    input(verified(response(-2, 96)), staple(-1, 95, "sha256-of-the-old-leaf")), { action: "write", reason: "Stapled", nextCheckAt: halfLessJitter(-2, 96) }],
  ["minInterval (5 min) holds back a refresh due sooner in a short window",
    input(verified(response(0, 0.1))), { action: "write", reason: "Stapled", nextCheckAt: new Date(NOW.getTime() + 5 * 60_000) }],
  ["a window shorter than minInterval is refreshed at its end, not after it",
    input(verified(response(0, 0.05))), { action: "write", reason: "Stapled", nextCheckAt: at(0.05) }],
];

void describe("decide", () => {
  for (const [name, given, expected] of CASES) {
    void it(name, () => {
      const decision = decide(given);
      assert.deepEqual(
        { action: decision.action, reason: decision.reason, nextCheckAt: decision.nextCheckAt.toISOString(), ...("fetchReason" in decision ? { fetchReason: decision.fetchReason } : {}) },
        { ...expected, nextCheckAt: expected.nextCheckAt.toISOString() },
      );
    });
  }

  void it("counts consecutive failures, and a success ends the count", () => {
    const kept = decide(input(failed, staple(-48, 48), 4));
    assert.equal(kept.action === "keep" ? kept.failures : -1, 5);
    assert.equal(decide(input(verified(response(0, 96)), staple(-48, 48), 4)).action, "write");
  });
});
