import { authenticateResponse, type AuthenticResponse } from "./authentic-response.ts";
import { bytesEqual } from "./bytes.ts";
import type { Certificate } from "./certificate.ts";
import { fail } from "./errors.ts";
import { checkSignerValidity, type SignerFacts } from "./signer.ts";
import type { VerificationCache } from "./verification-cache.ts";
import type { VerifiedResponse } from "./verified-response.ts";

export interface VerifyOptions {
  /** The certificate the response must be about. */
  readonly subject: Certificate;
  /** Its issuer, confirmed by the caller (it signed `subject`). */
  readonly issuer: Certificate;
  /** The instant to judge freshness at (the injected clock's now, or `inspect --at`). */
  readonly at: Date;
  /** Tolerated clock difference with the responder; 5 minutes unless given, as OpenSSL's default. */
  readonly skewMs?: number;
  /** The nonce extension value sent in the request; when set, the response must echo it. */
  readonly nonce?: Uint8Array;
  /**
   * Remembers the time-independent half of the checks, so a staple verified
   * again and again (the staple in place at each reconcile, the reloader's
   * polls) costs one parse and one signature check per process.
   */
  readonly cache?: VerificationCache;
}

export const DEFAULT_SKEW_MS = 5 * 60_000;

/**
 * How long a response without nextUpdate may be served. RFC 6960 §4.2.2.1 says
 * such a responder "always has newer information", so its answer is only as
 * good as its thisUpdate: treat it as short-lived, so it is refreshed often
 * and withdrawn soon if the responder then fails.
 */
export const NO_NEXT_UPDATE_WINDOW_MS = 60 * 60_000;

/**
 * Accepts a DER OCSPResponse only if it proves the status of `subject`
 * (DESIGN.md, "The engine's contract"), in two halves:
 * - `authenticateResponse`: is it a response at all, who signed it and may
 *   they, is it about this certificate. No clock changes these answers, so
 *   `options.cache` may remember them;
 * - the checks against `at`, run at every call: is a delegated signer within
 *   its validity, is the response fresh; then the nonce.
 * Throws OcspError with the first violated rule's code, the same whether the
 * first half was computed or remembered.
 */
export function verifyResponse(der: Uint8Array, options: VerifyOptions): VerifiedResponse {
  // An invalid Date compares false with everything, which would pass every freshness check.
  if (Number.isNaN(options.at.getTime())) throw new RangeError("verifyResponse: `at` is an invalid Date");
  const authentic = options.cache === undefined ? authenticateResponse(der, options) : options.cache.authenticate(der, options);
  return judgeAt(der, authentic, options);
}

/** The checks that depend on `at` (and the nonce), on a response already authenticated. */
function judgeAt(der: Uint8Array, authentic: AuthenticResponse, options: VerifyOptions): VerifiedResponse {
  const skewMs = options.skewMs ?? DEFAULT_SKEW_MS;
  const { signer } = authentic;
  checkSignerValidity(signer, options.at, skewMs);
  const usableUntil = checkFreshness(authentic, options.at, skewMs);
  if (options.nonce !== undefined) checkNonce(authentic.nonce, options.nonce);
  return {
    der,
    certStatus: authentic.certStatus,
    serial: options.subject.serial,
    certIdHash: authentic.certIdHash,
    producedAt: authentic.producedAt,
    thisUpdate: authentic.thisUpdate,
    ...(authentic.nextUpdate === undefined ? {} : { nextUpdate: authentic.nextUpdate }),
    usableUntil: earliest(usableUntil, signerLimit(signer), options.subject.notAfter),
    signer: { kind: signer.kind, subject: signer.subject, notAfter: signer.notAfter },
  };
}

/** Returns the end of the usable window implied by the response's own dates. */
function checkFreshness({ thisUpdate, nextUpdate, producedAt }: AuthenticResponse, at: Date, skewMs: number): Date {
  const now = at.getTime();
  if (thisUpdate.getTime() > now + skewMs || producedAt.getTime() > now + skewMs) {
    fail("NotYetValid", `the response's thisUpdate ${thisUpdate.toISOString()} is in the future (now ${at.toISOString()})`);
  }
  if (nextUpdate !== undefined && nextUpdate < thisUpdate) {
    fail("MalformedResponse", `nextUpdate ${nextUpdate.toISOString()} precedes thisUpdate ${thisUpdate.toISOString()}`);
  }
  const end = nextUpdate ?? new Date(thisUpdate.getTime() + NO_NEXT_UPDATE_WINDOW_MS);
  if (end.getTime() < now - skewMs) {
    const what = nextUpdate === undefined ? "the response has no nextUpdate and its thisUpdate is over an hour old" : `the response's nextUpdate ${end.toISOString()} has passed`;
    fail("Expired", `${what} (now ${at.toISOString()})`);
  }
  return end;
}

function checkNonce(echoed: Uint8Array | undefined, sent: Uint8Array): void {
  if (echoed === undefined) fail("NonceMismatch", "a nonce was sent but the response carries none");
  if (!bytesEqual(echoed, sent)) fail("NonceMismatch", "the response's nonce differs from the one sent");
}

function signerLimit(signer: SignerFacts): Date | undefined {
  return signer.kind === "delegated" ? signer.notAfter : undefined;
}

function earliest(...dates: readonly (Date | undefined)[]): Date {
  const times = dates.filter((date): date is Date => date !== undefined).map((date) => date.getTime());
  return new Date(Math.min(...times));
}
