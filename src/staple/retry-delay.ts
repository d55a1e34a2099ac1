import { isRetryableCode, OCSP_ERROR_CODES, type OcspErrorCode } from "../ocsp/error-codes.ts";
import type { Random, RefreshPolicy } from "./refresh-policy.ts";
import { retryDelayMs } from "./refresh-schedule.ts";
import type { StapleReason } from "./reasons.ts";

const ENGINE_CODES: ReadonlySet<string> = new Set(OCSP_ERROR_CODES);

/**
 * Whether trying again soon can help: the engine's `retryable` flag for its
 * codes; every other reason (`unknown`, an older answer, a refused write)
 * may change on the responder's or the cluster's side at any moment.
 */
export function isRetryableReason(reason: StapleReason): boolean {
  return !ENGINE_CODES.has(reason) || isRetryableCode(reason as OcspErrorCode);
}

/**
 * How long to wait after the `attempt`-th consecutive failure: the config's
 * doubling backoff for what may pass by itself, and at once its longest
 * (`retry.max`) for what is wrong by construction (a bad signature, an
 * unauthorized signer, no issuer), which only a change on the CA's or the
 * user's side mends; retrying that quickly only loads the responder. A change
 * of the Secret or the config requeues the Secret anyway.
 */
export function retryDelayFor(reason: StapleReason, attempt: number, policy: RefreshPolicy, random: Random): number {
  if (isRetryableReason(reason)) return retryDelayMs(attempt, policy, random);
  return policy.retry.maxMs / 2 + (random() * policy.retry.maxMs) / 2;
}
