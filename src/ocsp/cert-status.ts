/**
 * The answer about one certificate (RFC 6960 §4.2.1), as a discriminated
 * union rather than pkijs's 0/1/2.
 */
export type CertStatus =
  | { readonly kind: "good" }
  | { readonly kind: "revoked"; readonly revokedAt: Date; readonly reason?: RevocationReason }
  | { readonly kind: "unknown" };

/** CRLReason names (RFC 5280 §5.3.1); value 7 is unused. */
export const REVOCATION_REASONS = [
  "unspecified",
  "keyCompromise",
  "cACompromise",
  "affiliationChanged",
  "superseded",
  "cessationOfOperation",
  "certificateHold",
  undefined,
  "removeFromCRL",
  "privilegeWithdrawn",
  "aACompromise",
] as const;

export type RevocationReason = Exclude<(typeof REVOCATION_REASONS)[number], undefined>;
