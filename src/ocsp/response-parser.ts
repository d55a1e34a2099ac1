import * as asn1js from "asn1js";
import { serialHex } from "./bytes.ts";
import type { ResponseCertId } from "./cert-id.ts";
import { REVOCATION_REASONS, type CertStatus } from "./cert-status.ts";
import { fail, isOcspError } from "./errors.ts";
import { OID } from "./oids.ts";
import {
  bitStringBytes, boolean, children, decodeDer, encodedBytes, explicit, generalizedTime,
  integerBytes, isContextTag, octets, oid, smallInteger,
} from "./asn1-walk.ts";

/** A decoded BasicOCSPResponse (RFC 6960 §4.2.1), nothing checked yet. */
export interface BasicResponse {
  /** Exact bytes of tbsResponseData: what the signature covers. */
  readonly tbsDer: Uint8Array;
  readonly signatureAlgorithm: AlgorithmIdentifier;
  readonly signature: Uint8Array;
  readonly responderId: ResponderId;
  readonly producedAt: Date;
  readonly responses: readonly SingleResponse[];
  readonly extensions: readonly Extension[];
  /** DER of the certificates the responder embedded (a delegated responder sends its own). */
  readonly certificates: readonly Uint8Array[];
}

export interface AlgorithmIdentifier {
  readonly oid: string;
  /** The parameters' node, for algorithms that have them (RSASSA-PSS). */
  readonly parameters?: asn1js.AsnType;
}

export type ResponderId = { readonly byName: Uint8Array } | { readonly byKey: Uint8Array };

export interface SingleResponse {
  readonly certId: ResponseCertId;
  readonly status: CertStatus;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  readonly extensions: readonly Extension[];
}

export interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

/** responseStatus values that are not `successful` (RFC 6960 §4.2.1), with the code each one becomes. */
const UNSUCCESSFUL_STATUS = new Map<number, { name: string; code: "ResponderError" | "ResponderTryLater" | "ResponderUnauthorized" }>([
  [1, { name: "malformedRequest", code: "ResponderError" }],
  [2, { name: "internalError", code: "ResponderError" }],
  [3, { name: "tryLater", code: "ResponderTryLater" }],
  [5, { name: "sigRequired", code: "ResponderError" }],
  [6, { name: "unauthorized", code: "ResponderUnauthorized" }],
]);

/**
 * Decodes an OCSPResponse. A responder's error status becomes its own code
 * (`ResponderTryLater`, `ResponderUnauthorized`, `ResponderError`); anything
 * that is not a well-formed basic response is `MalformedResponse`. Never
 * throws anything but an OcspError, whatever the bytes.
 */
export function parseResponse(der: Uint8Array): BasicResponse {
  try {
    return parseOcspResponse(decodeDer(der, "the OCSP response"));
  } catch (error) {
    if (isOcspError(error)) throw error;
    return fail("MalformedResponse", "the OCSP response could not be decoded", error);
  }
}

function parseOcspResponse(root: asn1js.AsnType): BasicResponse {
  const [statusNode, bytesNode] = children(root, "OCSPResponse");
  const status = smallInteger(statusNode, "responseStatus");
  if (status !== 0) {
    const known = UNSUCCESSFUL_STATUS.get(status);
    if (known === undefined) return fail("MalformedResponse", `unknown responseStatus ${status}`);
    return fail(known.code, `the responder answered "${known.name}" (responseStatus ${status})`);
  }
  const [typeNode, responseNode] = children(explicit(bytesNode, 0, "responseBytes"), "ResponseBytes");
  const responseType = oid(typeNode, "responseType");
  if (responseType !== OID.ocspBasic) return fail("MalformedResponse", `unsupported responseType ${responseType} (expected id-pkix-ocsp-basic)`);
  return parseBasicResponse(decodeDer(octets(responseNode, "response"), "BasicOCSPResponse"));
}

function parseBasicResponse(node: asn1js.AsnType): BasicResponse {
  const [tbs, algorithm, signature, certs] = children(node, "BasicOCSPResponse");
  if (tbs === undefined) return fail("MalformedResponse", "BasicOCSPResponse is empty");
  return {
    ...parseResponseData(tbs),
    tbsDer: encodedBytes(tbs),
    signatureAlgorithm: parseAlgorithm(algorithm),
    signature: bitStringBytes(signature, "signature"),
    certificates: certs === undefined ? [] : children(explicit(certs, 0, "certs"), "certs").map(encodedBytes),
  };
}

function parseResponseData(node: asn1js.AsnType): Pick<BasicResponse, "responderId" | "producedAt" | "responses" | "extensions"> {
  const fields = children(node, "ResponseData");
  if (isContextTag(fields[0], 0)) {
    const version = smallInteger(explicit(fields.shift(), 0, "version"), "version");
    if (version !== 0) return fail("MalformedResponse", `unsupported ResponseData version ${version + 1}`);
  }
  const [responder, producedAt, responses, extensions] = fields;
  return {
    responderId: parseResponderId(responder),
    producedAt: generalizedTime(producedAt, "producedAt"),
    responses: children(responses, "responses").map(parseSingleResponse),
    extensions: extensions === undefined ? [] : parseExtensions(explicit(extensions, 1, "responseExtensions")),
  };
}

function parseResponderId(node: asn1js.AsnType | undefined): ResponderId {
  if (isContextTag(node, 1)) return { byName: encodedBytes(explicit(node, 1, "responderID byName")) };
  if (isContextTag(node, 2)) return { byKey: octets(explicit(node, 2, "responderID byKey"), "responderID byKey") };
  return fail("MalformedResponse", "responderID is neither byName nor byKey");
}

function parseSingleResponse(node: asn1js.AsnType): SingleResponse {
  const [certId, status, thisUpdate, ...optional] = children(node, "SingleResponse");
  const nextUpdate = isContextTag(optional[0], 0) ? generalizedTime(explicit(optional.shift(), 0, "nextUpdate"), "nextUpdate") : undefined;
  const extensions = isContextTag(optional[0], 1) ? parseExtensions(explicit(optional.shift(), 1, "singleExtensions")) : [];
  if (optional.length > 0) return fail("MalformedResponse", "SingleResponse has unexpected trailing fields");
  return {
    certId: parseCertId(certId),
    status: parseCertStatus(status),
    thisUpdate: generalizedTime(thisUpdate, "thisUpdate"),
    ...(nextUpdate === undefined ? {} : { nextUpdate }),
    extensions,
  };
}

function parseCertId(node: asn1js.AsnType | undefined): ResponseCertId {
  const [algorithm, nameHash, keyHash, serial] = children(node, "CertID");
  return {
    hashAlgorithmOid: parseAlgorithm(algorithm).oid,
    issuerNameHash: octets(nameHash, "issuerNameHash"),
    issuerKeyHash: octets(keyHash, "issuerKeyHash"),
    serial: serialHex(integerBytes(serial, "serialNumber")),
  };
}

function parseCertStatus(node: asn1js.AsnType | undefined): CertStatus {
  if (isContextTag(node, 0)) return { kind: "good" };
  if (isContextTag(node, 2)) return { kind: "unknown" };
  if (!isContextTag(node, 1)) return fail("MalformedResponse", "certStatus is not good, revoked or unknown");
  const [time, reasonNode] = children(node, "RevokedInfo");
  const revokedAt = generalizedTime(time, "revocationTime");
  if (reasonNode === undefined) return { kind: "revoked", revokedAt };
  const reason = REVOCATION_REASONS[smallInteger(explicit(reasonNode, 0, "revocationReason"), "revocationReason")];
  if (reason === undefined) return fail("MalformedResponse", "revocationReason is not a CRLReason");
  return { kind: "revoked", revokedAt, reason };
}

function parseAlgorithm(node: asn1js.AsnType | undefined): AlgorithmIdentifier {
  const [id, parameters] = children(node, "AlgorithmIdentifier");
  const algorithm = oid(id, "algorithm");
  return parameters === undefined || parameters instanceof asn1js.Null ? { oid: algorithm } : { oid: algorithm, parameters };
}

function parseExtensions(node: asn1js.AsnType): Extension[] {
  return children(node, "Extensions").map((extension) => {
    const [id, second, third] = children(extension, "Extension");
    const critical = third === undefined ? false : boolean(second, "critical");
    return { oid: oid(id, "extnID"), critical, value: octets(third ?? second, "extnValue") };
  });
}
