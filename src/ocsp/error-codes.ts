/**
 * Every way getting or checking a staple can fail, as one string-literal union.
 * These strings are a stable contract: they appear in `--json` output, in the
 * StapleConfig status, as Event reasons and as metric labels. Never rename one;
 * add new ones at the end of their group.
 *
 * The first group is DESIGN.md's list. The second group covers bad input given
 * to the engine (a chain or staple file the user passes in) and the `check`
 * command's TLS probe, which DESIGN.md does not name.
 */
export const OCSP_ERROR_CODES = [
  "NoIssuer",
  "NoResponderURL",
  "ResponderUnreachable",
  "ResponderTimeout",
  "ResponderHTTPError",
  "ResponseTooLarge",
  "BadContentType",
  "MalformedResponse",
  "ResponderUnauthorized",
  "ResponderTryLater",
  "ResponderError",
  "BadSignature",
  "UnauthorizedSigner",
  "SignerExpired",
  "CertIDMismatch",
  "NotYetValid",
  "Expired",
  "NonceMismatch",
  "UnsupportedAlgorithm",
  // Input given to the engine, not a responder's fault.
  "BadCertificate",
  "BadInput",
  // The `check` command's TLS probe.
  "TLSConnectFailed",
  "NoStapleServed",
] as const;

export type OcspErrorCode = (typeof OCSP_ERROR_CODES)[number];

/**
 * Whether trying again later can help. A transient network or responder fault
 * is retryable; a response that is wrong by construction (bad signature,
 * unauthorized signer) will stay wrong until the CA or the user changes
 * something, so retrying it quickly only loads the responder.
 */
const RETRYABLE: ReadonlySet<OcspErrorCode> = new Set<OcspErrorCode>([
  "ResponderUnreachable",
  "ResponderTimeout",
  "ResponderHTTPError",
  "ResponseTooLarge",
  "BadContentType",
  "MalformedResponse",
  "ResponderTryLater",
  "ResponderError",
  "NotYetValid",
  "Expired",
  "TLSConnectFailed",
]);

export function isRetryableCode(code: OcspErrorCode): boolean {
  return RETRYABLE.has(code);
}
