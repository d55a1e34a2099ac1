import type { OcspErrorCode } from "../ocsp/error-codes.ts";

/**
 * Why the reloader refused a staple or failed to hand one to the server: the
 * engine's stable codes (a staple that does not verify) plus the reloader's
 * own. One union, used as the log field `code` and the metric label
 * `reason` of `ocsp_stapler_reloader_errors_total`. Never rename one.
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
