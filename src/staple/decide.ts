import type { OcspErrorCode } from "../ocsp/error-codes.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import type { StapleReason } from "./reasons.ts";
import type { Random, RefreshPolicy } from "./refresh-policy.ts";
import { refreshAt } from "./refresh-schedule.ts";
import { retryDelayFor } from "./retry-delay.ts";

/** The staple already in place, as its annotations describe it. */
export interface CurrentStaple {
  readonly thisUpdate: Date;
  readonly usableUntil: Date;
  /** SHA-256 of the leaf certificate the staple was fetched for (annotation `cert-sha256`). */
  readonly certificateSha256: string;
}

/** What the engine returned for this refresh. */
export type FetchOutcome =
  | { readonly kind: "verified"; readonly response: VerifiedResponse }
  | { readonly kind: "failed"; readonly code: OcspErrorCode }
  /** Verified, but a consumer of the target would refuse it (consumer-profile.ts): handled like a failure. */
  | { readonly kind: "refused"; readonly reason: "ConsumerWouldReject" };

export interface DecisionInput {
  /** SHA-256 of the leaf certificate in the TLS Secret now. */
  readonly certificateSha256: string;
  readonly current?: CurrentStaple;
  readonly outcome: FetchOutcome;
  /** Consecutive failed refreshes before this one (0 after a success). */
  readonly failuresBefore: number;
  readonly now: Date;
  readonly policy: RefreshPolicy;
  /** The jitter of retry backoffs (a refresh's is the staple's own: refreshJitter). */
  readonly random: Random;
}

/**
 * What to do with the staple, and when to look again. `keep` with no current
 * staple means "nothing to write, nothing to remove".
 */
export type Decision =
  | { readonly action: "write"; readonly response: VerifiedResponse; readonly reason: "Stapled" | "Revoked"; readonly nextCheckAt: Date }
  | { readonly action: "keep"; readonly reason: StapleReason; readonly nextCheckAt: Date; readonly failures: number }
  | {
      readonly action: "withdraw";
      readonly reason: "StapleExpired" | "CertificateChanged";
      /** What this refresh's fetch said (an error code, CertStatusUnknown, OlderResponse). */
      readonly fetchReason: StapleReason;
      readonly nextCheckAt: Date;
      readonly failures: number;
    };

/**
 * The write rules of DESIGN.md, in order; the first that applies decides.
 * 1. A staple for another certificate is not usable (rotation): treat it as absent.
 * 2. A verified good or revoked answer is written, unless it is older than the staple in place.
 * 3. Anything else (a failure, `unknown`, an older answer) keeps a usable staple until just
 *    before its usable end (withdrawAt), retrying with backoff (retryDelayFor: at once the
 *    longest for a failure that cannot pass by itself) but never past that; a staple
 *    at its end, or one for the wrong certificate, is withdrawn so no consumer serves it.
 * Pure: the same input always gives the same decision.
 */
export function decide(input: DecisionInput): Decision {
  const current = input.current?.certificateSha256 === input.certificateSha256 ? input.current : undefined;
  const { outcome } = input;
  if (outcome.kind === "verified" && outcome.response.certStatus.kind !== "unknown") {
    if (current === undefined || outcome.response.thisUpdate >= current.thisUpdate) {
      return {
        action: "write",
        response: outcome.response,
        reason: outcome.response.certStatus.kind === "good" ? "Stapled" : "Revoked",
        nextCheckAt: refreshAt({ thisUpdate: outcome.response.thisUpdate, usableUntil: outcome.response.usableUntil, certificateSha256: input.certificateSha256 }, input.now, input.policy),
      };
    }
  }
  return holdOrWithdraw(input, current, reasonOf(outcome));
}

function reasonOf(outcome: FetchOutcome): StapleReason {
  if (outcome.kind === "failed") return outcome.code;
  if (outcome.kind === "refused") return outcome.reason;
  return outcome.response.certStatus.kind === "unknown" ? "CertStatusUnknown" : "OlderResponse";
}

/** A failing staple is withdrawn this long before its usable end (at most), so no sampled moment finds an expired one in place. */
export const WITHDRAW_LEAD_MAX_MS = 30_000;

/**
 * When a staple that cannot be refreshed goes: a little before its usable end
 * (a fiftieth of its window, at most 30 s), because deleting it takes a
 * moment and a staple seconds from its end is of no use to a client anyway.
 */
export function withdrawAt(current: CurrentStaple): Date {
  const window = current.usableUntil.getTime() - current.thisUpdate.getTime();
  return new Date(current.usableUntil.getTime() - Math.min(WITHDRAW_LEAD_MAX_MS, Math.max(0, window) / 50));
}

function holdOrWithdraw(input: DecisionInput, current: CurrentStaple | undefined, reason: StapleReason): Decision {
  const failures = input.failuresBefore + 1;
  const retryAt = input.now.getTime() + retryDelayFor(reason, failures, input.policy, input.random);
  if (current !== undefined && input.now < withdrawAt(current)) {
    return { action: "keep", reason, failures, nextCheckAt: new Date(Math.min(retryAt, withdrawAt(current).getTime())) };
  }
  if (input.current === undefined) return { action: "keep", reason, failures, nextCheckAt: new Date(retryAt) };
  return {
    action: "withdraw",
    reason: current === undefined ? "CertificateChanged" : "StapleExpired",
    fetchReason: reason,
    failures,
    nextCheckAt: new Date(retryAt),
  };
}
