import type { Certificate } from "./certificate.ts";
import type { CertStatus } from "./cert-status.ts";
import { certIdMatches } from "./cert-id.ts";
import { fail } from "./errors.ts";
import { HASH_BY_OID, OID, type HashName } from "./oids.ts";
import { parseResponse, type BasicResponse, type Extension, type SingleResponse } from "./response-parser.ts";
import { authenticateSigner, delegateFacts, type DelegateFacts } from "./signer.ts";

/** The certificate a response must be about, and its issuer as the caller confirmed it (it signed `subject`). */
export interface ResponseParties {
  readonly subject: Certificate;
  readonly issuer: Certificate;
}

/**
 * What the time-independent half of `verifyResponse` established: the
 * response is well formed, signed by someone allowed to speak for the
 * issuer, and answers for the subject. VerificationCache keeps one per
 * certificate, so it keeps only what the time checks and the
 * VerifiedResponse need, as small as it can: not the parsed tree; times as
 * epoch milliseconds (a number costs 16 bytes, a Date about 100); no signer
 * when the issuer signed (the caller passes the issuer at every use); one
 * shared object for `good` and for `unknown`.
 */
export interface AuthenticResponse {
  readonly producedAtMs: number;
  /** From the SingleResponse about the subject: */
  readonly certStatus: CertStatus;
  readonly thisUpdateMs: number;
  readonly nextUpdateMs?: number;
  readonly certIdHash: HashName;
  /** How many SingleResponses the response carries, and where the subject's is (0: first): consumers differ on both (consumer-profile.ts). */
  readonly singleResponses: number;
  readonly subjectIndex: number;
  /** The value of the response's nonce extension, if it has one (RFC 8954). */
  readonly nonce?: Uint8Array;
  /** The delegated responder that signed it; undefined when the issuer itself did. */
  readonly delegate?: DelegateFacts;
}

const GOOD: CertStatus = Object.freeze({ kind: "good" });
const UNKNOWN: CertStatus = Object.freeze({ kind: "unknown" });

/**
 * Extensions we understand, per place; any other one marked critical makes us
 * refuse the response (RFC 5280 §4.2). The nonce belongs in responseExtensions
 * only (RFC 8954), so none is understood in singleExtensions.
 */
const UNDERSTOOD_RESPONSE_EXTENSIONS: ReadonlySet<string> = new Set<string>([OID.ocspNonce]);
const UNDERSTOOD_SINGLE_EXTENSIONS: ReadonlySet<string> = new Set<string>();

/**
 * The checks of DESIGN.md's engine contract that no clock can change: is it
 * a basic response at all, who signed it and may they, is it about this
 * certificate. The same bytes for the same subject and issuer always get the
 * same answer, which is what lets VerificationCache keep it. Throws
 * OcspError with the first violated rule's code.
 */
export function authenticateResponse(der: Uint8Array, parties: ResponseParties): AuthenticResponse {
  const response = parseResponse(der);
  rejectUnknownCriticalExtensions(response.extensions, UNDERSTOOD_RESPONSE_EXTENSIONS, "responseExtensions");
  const signer = authenticateSigner(response, parties);
  const single = findSingleResponse(response, parties);
  const subjectIndex = response.responses.indexOf(single);
  rejectUnknownCriticalExtensions(single.extensions, UNDERSTOOD_SINGLE_EXTENSIONS, "singleExtensions");
  const nonce = response.extensions.find((extension) => extension.oid === OID.ocspNonce);
  return {
    producedAtMs: response.producedAt.getTime(),
    certStatus: single.status.kind === "good" ? GOOD : single.status.kind === "unknown" ? UNKNOWN : single.status,
    thisUpdateMs: single.thisUpdate.getTime(),
    ...(single.nextUpdate === undefined ? {} : { nextUpdateMs: single.nextUpdate.getTime() }),
    // certIdMatches accepted the CertID, so its hash is one we know.
    certIdHash: HASH_BY_OID.get(single.certId.hashAlgorithmOid) as HashName,
    singleResponses: response.responses.length,
    subjectIndex,
    // A copy: the parser's bytes are views into its copy of the whole response, which a cache would keep alive.
    ...(nonce === undefined ? {} : { nonce: nonce.value.slice() }),
    ...(signer.kind === "delegated" ? { delegate: delegateFacts(signer.certificate) } : {}),
  };
}

/** A response may carry answers for several certificates; find the one for ours. */
function findSingleResponse(response: BasicResponse, parties: ResponseParties): SingleResponse {
  const match = response.responses.find((single) => certIdMatches(single.certId, parties.subject.serial, parties.issuer));
  if (match !== undefined) return match;
  const serials = response.responses.map((single) => single.certId.serial).join(", ");
  return fail("CertIDMismatch", `the response answers for serial(s) ${serials || "none"}, not for serial ${parties.subject.serial} issued by "${parties.issuer.subject}"`);
}

function rejectUnknownCriticalExtensions(extensions: readonly Extension[], understood: ReadonlySet<string>, where: string): void {
  const unknown = extensions.find((extension) => extension.critical && !understood.has(extension.oid));
  if (unknown !== undefined) fail("MalformedResponse", `the response has an unsupported critical extension ${unknown.oid} in ${where}`);
}
