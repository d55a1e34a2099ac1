import { bytesEqual } from "./bytes.ts";
import type { Certificate } from "./certificate.ts";
import { certIdMatches } from "./cert-id.ts";
import { fail } from "./errors.ts";
import { HASH_BY_OID, OID, type HashName } from "./oids.ts";
import { parseResponse, type BasicResponse, type Extension, type SingleResponse } from "./response-parser.ts";
import { authenticateSigner, type Signer } from "./signer.ts";
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
 * Extensions we understand, per place; any other one marked critical makes us
 * refuse the response (RFC 5280 §4.2). The nonce belongs in responseExtensions
 * only (RFC 8954), so none is understood in singleExtensions.
 */
const UNDERSTOOD_RESPONSE_EXTENSIONS: ReadonlySet<string> = new Set<string>([OID.ocspNonce]);
const UNDERSTOOD_SINGLE_EXTENSIONS: ReadonlySet<string> = new Set<string>();

/**
 * Accepts a DER OCSPResponse only if it proves the status of `subject`
 * (DESIGN.md, "The engine's contract"). The checks run in the order a user
 * needs the answer: is it a response at all, who signed it and may they,
 * is it about this certificate, is it fresh, does it echo our nonce.
 * Throws OcspError with the first violated rule's code.
 */
export function verifyResponse(der: Uint8Array, options: VerifyOptions): VerifiedResponse {
  // An invalid Date compares false with everything, which would pass every freshness check.
  if (Number.isNaN(options.at.getTime())) throw new RangeError("verifyResponse: `at` is an invalid Date");
  const skewMs = options.skewMs ?? DEFAULT_SKEW_MS;
  const response = parseResponse(der);
  rejectUnknownCriticalExtensions(response.extensions, UNDERSTOOD_RESPONSE_EXTENSIONS, "responseExtensions");
  const signer = authenticateSigner(response, { issuer: options.issuer, subject: options.subject, at: options.at, skewMs });
  const single = findSingleResponse(response, options);
  rejectUnknownCriticalExtensions(single.extensions, UNDERSTOOD_SINGLE_EXTENSIONS, "singleExtensions");
  const usableUntil = checkFreshness(response, single, options, skewMs);
  if (options.nonce !== undefined) checkNonce(response, options.nonce);
  return {
    der,
    certStatus: single.status,
    serial: options.subject.serial,
    certIdHash: HASH_BY_OID.get(single.certId.hashAlgorithmOid) as HashName,
    producedAt: response.producedAt,
    thisUpdate: single.thisUpdate,
    ...(single.nextUpdate === undefined ? {} : { nextUpdate: single.nextUpdate }),
    usableUntil: earliest(usableUntil, signerLimit(signer), options.subject.notAfter),
    signer: { kind: signer.kind, subject: signer.certificate.subject, notAfter: signer.certificate.notAfter },
  };
}

/** A response may carry answers for several certificates; find the one for ours. */
function findSingleResponse(response: BasicResponse, options: VerifyOptions): SingleResponse {
  const match = response.responses.find((single) => certIdMatches(single.certId, options.subject.serial, options.issuer));
  if (match !== undefined) return match;
  const serials = response.responses.map((single) => single.certId.serial).join(", ");
  return fail("CertIDMismatch", `the response answers for serial(s) ${serials || "none"}, not for serial ${options.subject.serial} issued by "${options.issuer.subject}"`);
}

/** Returns the end of the usable window implied by the response's own dates. */
function checkFreshness(response: BasicResponse, single: SingleResponse, options: VerifyOptions, skewMs: number): Date {
  const now = options.at.getTime();
  if (single.thisUpdate.getTime() > now + skewMs || response.producedAt.getTime() > now + skewMs) {
    fail("NotYetValid", `the response's thisUpdate ${single.thisUpdate.toISOString()} is in the future (now ${options.at.toISOString()})`);
  }
  if (single.nextUpdate !== undefined && single.nextUpdate < single.thisUpdate) {
    fail("MalformedResponse", `nextUpdate ${single.nextUpdate.toISOString()} precedes thisUpdate ${single.thisUpdate.toISOString()}`);
  }
  const end = single.nextUpdate ?? new Date(single.thisUpdate.getTime() + NO_NEXT_UPDATE_WINDOW_MS);
  if (end.getTime() < now - skewMs) {
    const what = single.nextUpdate === undefined ? "the response has no nextUpdate and its thisUpdate is over an hour old" : `the response's nextUpdate ${end.toISOString()} has passed`;
    fail("Expired", `${what} (now ${options.at.toISOString()})`);
  }
  return end;
}

function checkNonce(response: BasicResponse, sent: Uint8Array): void {
  const echoed = response.extensions.find((extension) => extension.oid === OID.ocspNonce);
  if (echoed === undefined) fail("NonceMismatch", "a nonce was sent but the response carries none");
  if (!bytesEqual(echoed.value, sent)) fail("NonceMismatch", "the response's nonce differs from the one sent");
}

function rejectUnknownCriticalExtensions(extensions: readonly Extension[], understood: ReadonlySet<string>, where: string): void {
  const unknown = extensions.find((extension) => extension.critical && !understood.has(extension.oid));
  if (unknown !== undefined) fail("MalformedResponse", `the response has an unsupported critical extension ${unknown.oid} in ${where}`);
}

function signerLimit(signer: Signer): Date | undefined {
  return signer.kind === "delegated" ? signer.certificate.notAfter : undefined;
}

function earliest(...dates: readonly (Date | undefined)[]): Date {
  const times = dates.filter((date): date is Date => date !== undefined).map((date) => date.getTime());
  return new Date(Math.min(...times));
}
