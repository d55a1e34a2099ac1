import { randomBytes } from "node:crypto";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { toArrayBuffer } from "./bytes.ts";
import type { CertId } from "./cert-id.ts";
import { OID, OID_BY_HASH } from "./oids.ts";

/** An encoded OCSPRequest and, when one was sent, the nonce the response must echo. */
export interface EncodedRequest {
  readonly der: Uint8Array;
  /** The nonce extension's extnValue as sent (RFC 8954: an OCTET STRING of the nonce). */
  readonly nonce?: Uint8Array;
}

/**
 * Builds an unsigned OCSPRequest for one CertID (RFC 6960 §4.1). No nonce by
 * default: RFC 5019 responders serve pre-signed answers and many ignore or
 * reject nonces, and a staple is shared by every client anyway. With
 * `withNonce`, a 32-byte nonce is sent (RFC 8954 §2.1 asks for 1..32 bytes).
 */
export function encodeRequest(certId: CertId, options: { withNonce?: boolean } = {}): EncodedRequest {
  const hexSerial = certId.serial.length % 2 === 0 ? certId.serial : `0${certId.serial}`;
  const reqCert = new pkijs.CertID({
    hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_BY_HASH[certId.hashAlgorithm], algorithmParams: new asn1js.Null() }),
    issuerNameHash: new asn1js.OctetString({ valueHex: toArrayBuffer(certId.issuerNameHash) }),
    issuerKeyHash: new asn1js.OctetString({ valueHex: toArrayBuffer(certId.issuerKeyHash) }),
    serialNumber: new asn1js.Integer({ valueHex: toArrayBuffer(positiveInteger(Buffer.from(hexSerial, "hex"))) }),
  });
  const nonce = options.withNonce === true ? new asn1js.OctetString({ valueHex: toArrayBuffer(randomBytes(32)) }).toBER() : undefined;
  const tbsRequest = new pkijs.TBSRequest({
    requestList: [new pkijs.Request({ reqCert })],
    ...(nonce === undefined ? {} : { requestExtensions: [new pkijs.Extension({ extnID: OID.ocspNonce, extnValue: nonce })] }),
  });
  const der = new Uint8Array(new pkijs.OCSPRequest({ tbsRequest }).toSchema(true).toBER());
  return nonce === undefined ? { der } : { der, nonce: new Uint8Array(nonce) };
}

/** A serial is a positive INTEGER: prefix 0x00 when the top bit is set. */
function positiveInteger(magnitude: Uint8Array): Uint8Array {
  if (magnitude.length > 0 && (magnitude[0] ?? 0) < 0x80) return magnitude;
  return Uint8Array.of(0, ...magnitude);
}
