import type { StapleReason } from "./reasons.ts";

/** A freshly issued certificate may carry a notBefore a little ahead of our clock: this much is tolerated (the engine's skew). */
export const NOT_BEFORE_SKEW_MS = 5 * 60_000;

/** Why a leaf cannot be stapled now, and when to look again (never, for an expired one: only a new certificate helps). */
export interface LeafOutsideValidity {
  readonly reason: Extract<StapleReason, "CertificateExpired" | "CertificateNotYetValid">;
  readonly message: string;
  readonly recheckAt?: Date;
}

/**
 * An expired leaf, or one not valid yet, is never fetched for: a staple's
 * usable window ends at the leaf's notAfter, so for an expired leaf every
 * fresh response would be due for refresh at once (the loop that once fetched
 * and wrote 1,000 staples in 20 seconds), and no client accepts the
 * certificate anyway. A leaf not yet valid is looked at again at its
 * notBefore. Pure.
 */
export function leafOutsideValidity(leaf: { readonly notBefore: Date; readonly notAfter: Date }, now: Date): LeafOutsideValidity | undefined {
  if (now >= leaf.notAfter) {
    return { reason: "CertificateExpired", message: `the certificate in tls.crt expired at ${leaf.notAfter.toISOString()}: renew it; no staple is fetched for an expired certificate` };
  }
  if (now.getTime() < leaf.notBefore.getTime() - NOT_BEFORE_SKEW_MS) {
    return { reason: "CertificateNotYetValid", message: `the certificate in tls.crt is valid only from ${leaf.notBefore.toISOString()}: its staple is fetched then`, recheckAt: leaf.notBefore };
  }
  return undefined;
}
