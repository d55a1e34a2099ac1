import type { OcspErrorCode } from "../ocsp/error-codes.ts";
import type { EndpointState } from "../probe/endpoint-state.ts";

/**
 * Every reason a user reads, in one module (cert-manager's constants.go):
 * what the policy decided, Event reasons, condition reasons, write outcomes,
 * the reloader's refusals.
 * A fetch failure's reason is its engine error code, so users see one
 * vocabulary. These strings are a contract (status, Events, metric labels,
 * alerts): never rename one.
 */

/** Why the policy decided what it did: the status entry's `error.code` and most Event reasons. */
export type StapleReason =
  /** A verified `good` response was written. */
  | "Stapled"
  /** A verified `revoked` response was written: clients must fail closed. */
  | "Revoked"
  /** The responder answered `unknown`: never stapled, the previous staple is kept. */
  | "CertStatusUnknown"
  /** The responder served a response older than the staple in place (a stale cache). */
  | "OlderResponse"
  /** The staple in place reached the end of its usable window and was withdrawn. */
  | "StapleExpired"
  /** The certificate in the Secret changed; the staple for the old one was withdrawn. */
  | "CertificateChanged"
  /** The leaf certificate has expired: nothing is fetched, and a staple in place is withdrawn, until the Secret is renewed. */
  | "CertificateExpired"
  /** The leaf certificate's notBefore is still ahead (beyond the 5-minute skew): fetched once it starts. */
  | "CertificateNotYetValid"
  /** The companion Secret's name is taken by a Secret the operator does not manage: never overwritten. */
  | "TargetConflict"
  /** The API server refused the write for good (RBAC, the chart's admission policy, validation): retried with backoff. */
  | "WriteRefused"
  /** `chain: Full` with a target key equal to a key it derives (`<key>.<n>`, `<first key>.pem`): refused rather than overwritten. */
  | "ChainKeyCollision"
  /**
   * The response verified, but a consumer of the target (`target.consumer`, or
   * the one its keys imply) would refuse it (consumer-profile.ts): not
   * published, the previous staple is kept, retried with backoff.
   */
  | "ConsumerWouldReject"
  | OcspErrorCode;

/** Why a write of a staple was refused (the write outcome): the holder is not ours, or the API server said no for good. */
export type WriteRefusalReason = Extract<StapleReason, "TargetConflict" | "WriteRefused">;

/** Event reasons: Events mark transitions (a first staple, a revocation, a failure streak's start, a withdrawal), not routine refreshes. */
export type EventReason =
  | Extract<StapleReason, "Stapled" | "Revoked" | "CertificateExpired" | "CertificateNotYetValid">
  /** A staple was removed from its holder so no consumer serves it (usable window over, certificate changed or expired). */
  | "StapleWithdrawn"
  /** The first failure of a refresh streak (later ones only log, and count in the status). */
  | "FetchFailed"
  /** Fetches fail and the staple in place has less than a day left. */
  | "StapleExpiring"
  /** Normal: the certificate names no OCSP responder (its CA turned OCSP off, or never had it): CRL-only, nothing to staple. */
  | Extract<StapleReason, "NoResponderURL">
  /** Warning: a must-staple certificate (TLS Feature status_request) has no staple: browsers that enforce must-staple refuse it. */
  | "MustStapleUnstapled"
  /** An endpoint of spec.probe changed state: Normal `Served` when it serves the current staple again, Warning with its new state otherwise. */
  | Exclude<EndpointState, "Pending">;

/** Condition reasons of a StapleConfig (`Ready`, `Degraded`), besides the first failing Secret's StapleReason. */
export type ConditionReason =
  | StapleReason
  /** Ready: every selected Secret has a verified staple. */
  | "AllStapled"
  /** Ready: the selector matches no TLS Secret. */
  | "NothingSelected"
  /** Not ready, with no error yet: staples are being fetched. */
  | "Pending"
  /** Not degraded. */
  | "AsExpected"
  /** A selected Secret belongs to an older StapleConfig that selects it too. */
  | "Conflict"
  /** Degraded: a must-staple certificate has no staple (critical: browsers that enforce must-staple refuse it). */
  | "MustStapleUnstapled"
  /** Served: every endpoint of spec.probe serves the current staple. */
  | "AllServed"
  /** Served is Unknown: spec.probe.discover found nothing to probe, and no endpoint is listed. */
  | "NoEndpoints"
  /** Served is False (or Unknown for Pending): the worst endpoint's state, also the reason of its Event. */
  | Exclude<EndpointState, "Served">;

/**
 * Why the reloader refused a staple or failed to hand one to the server: the
 * engine's stable codes (a staple that does not verify) plus the reloader's
 * own. Used as the log field `code` and the metric label `reason` of
 * `ocsp_stapler_reloader_errors_total`.
 */
export const RELOADER_REASONS = [
  /** The staple verified, but says `unknown`: never stapled (DESIGN.md). */
  "CertStatusUnknown",
  /** HAProxy's runtime API refused the staple or could not be reached. */
  "HaproxyPushFailed",
  /**
   * A staple gone from the volume (or no longer valid) could not be taken
   * away from HAProxy: the certificate transaction that drops it needs the
   * certificate file HAProxy's `crt` names and its key, and HAProxy must
   * accept them. HAProxy keeps sending the staple until its nextUpdate.
   */
  "HaproxyWithdrawFailed",
  /** Writing the staple or the nginx snippet to the output directory failed. */
  "WriteFailed",
  /** The nginx configuration test failed: nginx was not reloaded. */
  "NginxConfigTestFailed",
  /** Signalling nginx (or the reload command) failed. */
  "NginxReloadFailed",
] as const;

export type ReloaderReason = OcspErrorCode | (typeof RELOADER_REASONS)[number];
