import * as asn1js from "asn1js";

/**
 * The OCSPResponse of an unsuccessful status (RFC 6960 §4.2.1): the bare
 * responseStatus, no responseBytes, nothing signed. The two a responder
 * that only serves stored staples can give, and tryLater while it has not
 * read its staples yet.
 */
export const OCSP_ERROR_RESPONSE = {
  malformedRequest: statusOnly(1),
  tryLater: statusOnly(3),
  unauthorized: statusOnly(6),
} as const;

function statusOnly(status: number): Buffer {
  return Buffer.from(new asn1js.Sequence({ value: [new asn1js.Enumerated({ value: status })] }).toBER());
}
