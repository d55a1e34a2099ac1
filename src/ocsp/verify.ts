import { authenticateResponse, type AuthenticResponse } from "./authentic-response.ts";
import { bytesEqual } from "./bytes.ts";
import type { Certificate } from "./certificate.ts";
import { fail } from "./errors.ts";
import { checkDelegateValidity, type DelegateFacts } from "./signer.ts";
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
  const { delegate } = authentic;
  if (delegate !== undefined) checkDelegateValidity(delegate, options.at, skewMs);
  const responseEndMs = checkFreshness(authentic, options.at, skewMs);
  if (options.nonce !== undefined) checkNonce(authentic.nonce, options.nonce);
  return {
    der,
    certStatus: authentic.certStatus,
    serial: options.subject.serial,
    certIdHash: authentic.certIdHash,
    singleResponses: authentic.singleResponses,
    subjectIndex: authentic.subjectIndex,
    producedAt: new Date(authentic.producedAtMs),
    thisUpdate: new Date(authentic.thisUpdateMs),
    ...(authentic.nextUpdateMs === undefined ? {} : { nextUpdate: new Date(authentic.nextUpdateMs) }),
    // A delegate's own validity ends its word too (RFC 6960 §4.2.2.2); the issuer's does not here.
    usableUntil: new Date(Math.min(responseEndMs, delegate?.notAfterMs ?? Infinity, options.subject.notAfter.getTime())),
    signer: signerOf(delegate, options.issuer),
  };
}

/** Who signed, as a VerifiedResponse tells: the delegate remembered, or the issuer the caller passed. */
function signerOf(delegate: DelegateFacts | undefined, issuer: Certificate): VerifiedResponse["signer"] {
  if (delegate === undefined) return { kind: "issuer", subject: issuer.subject, notAfter: issuer.notAfter };
  return { kind: "delegated", subject: delegate.subject, notAfter: new Date(delegate.notAfterMs) };
}

/** Returns the end (epoch ms) of the usable window implied by the response's own dates. */
function checkFreshness({ thisUpdateMs, nextUpdateMs, producedAtMs }: AuthenticResponse, at: Date, skewMs: number): number {
  const now = at.getTime();
  const iso = (ms: number) => new Date(ms).toISOString();
  if (thisUpdateMs > now + skewMs || producedAtMs > now + skewMs) {
    fail("NotYetValid", `the response's thisUpdate ${iso(thisUpdateMs)} is in the future (now ${at.toISOString()})`);
  }
  if (nextUpdateMs !== undefined && nextUpdateMs < thisUpdateMs) {
    fail("MalformedResponse", `nextUpdate ${iso(nextUpdateMs)} precedes thisUpdate ${iso(thisUpdateMs)}`);
  }
  const endMs = nextUpdateMs ?? thisUpdateMs + NO_NEXT_UPDATE_WINDOW_MS;
  if (endMs < now - skewMs) {
    const what = nextUpdateMs === undefined ? "the response has no nextUpdate and its thisUpdate is over an hour old" : `the response's nextUpdate ${iso(endMs)} has passed`;
    fail("Expired", `${what} (now ${at.toISOString()})`);
  }
  return endMs;
}

function checkNonce(echoed: Uint8Array | undefined, sent: Uint8Array): void {
  if (echoed === undefined) fail("NonceMismatch", "a nonce was sent but the response carries none");
  if (!bytesEqual(echoed, sent)) fail("NonceMismatch", "the response's nonce differs from the one sent");
}
