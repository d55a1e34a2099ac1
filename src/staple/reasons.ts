import type { OcspErrorCode } from "../ocsp/error-codes.ts";

/**
 * Why the policy decided what it did: one union, used as condition reasons,
 * Event reasons and metric labels (cert-manager's constants.go). A fetch
 * failure's reason is its engine error code, so users see one vocabulary.
 */
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
  | OcspErrorCode;
