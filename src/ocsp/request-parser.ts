import type * as asn1js from "asn1js";
import { serialHex } from "./bytes.ts";
import type { ResponseCertId } from "./cert-id.ts";
import { isOcspError } from "./errors.ts";
import { OID } from "./oids.ts";
import { children, decodeDer, explicit, integerBytes, isContextTag, octets, oid } from "./asn1-walk.ts";

/** What a responder needs from an OCSPRequest (RFC 6960 §4.1.1): the CertIDs asked about, and whether a nonce came with them. */
export interface ParsedRequest {
  readonly certIds: readonly ResponseCertId[];
  /** A nonce (RFC 8954) was sent: a pre-signed answer cannot echo it (RFC 5019 §2.2.1 lets a responder ignore it). */
  readonly hasNonce: boolean;
}

/**
 * Decodes an OCSPRequest, or returns undefined for anything that is not one
 * (the responder answers `malformedRequest`). The optional signature and
 * requestorName are read past, not checked: the answers are public,
 * pre-signed staples. Never throws, whatever the bytes.
 */
export function parseRequest(der: Uint8Array): ParsedRequest | undefined {
  try {
    return parseOcspRequest(decodeDer(der, "the OCSP request"));
  } catch (error) {
    if (isOcspError(error)) return undefined;
    throw error;
  }
}

function parseOcspRequest(root: asn1js.AsnType): ParsedRequest {
  const [tbs] = children(root, "OCSPRequest");
  const fields = children(tbs, "TBSRequest");
  if (isContextTag(fields[0], 0)) fields.shift(); // version, DEFAULT v1
  if (isContextTag(fields[0], 1)) fields.shift(); // requestorName
  const [requestList, extensions] = fields;
  const certIds = children(requestList, "requestList").map((request) => parseCertId(children(request, "Request")[0]));
  const hasNonce = extensions !== undefined && children(explicit(extensions, 2, "requestExtensions"), "Extensions")
    .some((extension) => oid(children(extension, "Extension")[0], "extnID") === OID.ocspNonce);
  return { certIds, hasNonce };
}

function parseCertId(node: asn1js.AsnType | undefined): ResponseCertId {
  const [algorithm, nameHash, keyHash, serial] = children(node, "CertID");
  return {
    hashAlgorithmOid: oid(children(algorithm, "hashAlgorithm")[0], "hashAlgorithm"),
    issuerNameHash: octets(nameHash, "issuerNameHash"),
    issuerKeyHash: octets(keyHash, "issuerKeyHash"),
    serial: serialHex(integerBytes(serial, "serialNumber")),
  };
}
