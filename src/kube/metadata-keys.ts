/**
 * The labels and annotations the operator writes (DESIGN.md, "Companion
 * Secret"). They are a contract with users' tooling (`kubectl get secrets -l
 * app.kubernetes.io/managed-by=ocsp-stapler`), so they never change.
 */
export const FIELD_MANAGER = "ocsp-stapler";

export const LABEL = {
  managedBy: "app.kubernetes.io/managed-by",
  source: "ocsp-stapler.io/source",
} as const;

export const ANNOTATION = {
  certStatus: "ocsp-stapler.io/cert-status",
  thisUpdate: "ocsp-stapler.io/this-update",
  nextUpdate: "ocsp-stapler.io/next-update",
  responder: "ocsp-stapler.io/responder",
  serial: "ocsp-stapler.io/serial",
  certSha256: "ocsp-stapler.io/cert-sha256",
  /** RFC 3339: the in-cluster responder never serves the staple after it (VerifiedResponse.usableUntil). */
  usableUntil: "ocsp-stapler.io/usable-until",
  /** The leaf's CertID under SHA-1 and SHA-256 (cert-id-text.ts): what the in-cluster responder looks the staple up by. */
  certIds: "ocsp-stapler.io/cert-ids",
  /** InPlace mode: the data keys of the TLS Secret that hold our staple (comma-separated), so they can be removed. */
  stapleKeys: "ocsp-stapler.io/staple-keys",
} as const;

/** Data keys the operator never writes, in any mode (the CRD refuses them as staple keys too). */
export const PROTECTED_KEYS: readonly string[] = ["tls.crt", "tls.key", "ca.crt"];
