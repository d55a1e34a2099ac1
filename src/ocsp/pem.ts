import { fail } from "./errors.ts";
import { Certificate } from "./certificate.ts";

/** A PEM CERTIFICATE block, its base64 body captured (global: use with matchAll). */
export const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g;
/** What a block's body may hold; anything else is not a certificate the engine reads. */
export const BASE64_BODY = /^[A-Za-z0-9+/=\s]*$/;

/**
 * Reads every certificate in a PEM bundle (the form of `tls.crt` and `ca.crt`),
 * in order. Other PEM blocks (a private key pasted into the wrong file) are
 * skipped and never echoed. A file that is a single DER certificate is
 * accepted too. Input with no certificate at all is `BadCertificate`, and so
 * is input with more than `max` certificates: counted before any is decoded,
 * so an oversized bundle costs a scan, not a decode per certificate.
 */
/** Decodes one certificate of a bundle (`index` from 0); a cache may answer for a DER it has decoded before. */
export type CertificateDecoder = (der: Uint8Array, label: string, index: number) => Certificate;

const decodeEach: CertificateDecoder = (der, label) => Certificate.fromDer(der, label);

export function readCertificates(input: Uint8Array | string, label: string, max = Number.POSITIVE_INFINITY, decode: CertificateDecoder = decodeEach): Certificate[] {
  const text = typeof input === "string" ? input : Buffer.from(input).toString("latin1");
  const blocks = [...text.matchAll(PEM_CERTIFICATE)];
  if (blocks.length === 0) {
    if (typeof input !== "string" && input[0] === 0x30) return [decode(input, label, 0)];
    return fail("BadCertificate", `${label} contains no PEM certificate (expected "-----BEGIN CERTIFICATE-----")`);
  }
  if (blocks.length > max) {
    return fail("BadCertificate", `${label} holds ${blocks.length} certificates, more than the ${max} a served chain may have (the leaf and its intermediates); remove the others`);
  }
  return blocks.map((match, index) => {
    const body = match[1] ?? "";
    const where = `${label} (certificate ${index + 1} of ${blocks.length})`;
    if (!BASE64_BODY.test(body)) fail("BadCertificate", `${where} has characters that are not base64`);
    return decode(new Uint8Array(Buffer.from(body, "base64")), where, index);
  });
}
