/**
 * The OCSP "bundle" a GnuTLS server staples from: every response of the
 * chain as its own PEM block, leaf first. Exim loads it with
 * `tls_ocsp_file = PEM <file>`, which hands it to GnuTLS's
 * `gnutls_certificate_set_ocsp_status_request_file2(…, GNUTLS_X509_FMT_PEM)`
 * (GnuTLS 3.6.3+); under TLS 1.3 GnuTLS then sends each response in the
 * CertificateEntry of the certificate it matches (RFC 8446 §4.4.2.1).
 *
 * The label is exactly `OCSP RESPONSE`: GnuTLS (lib/ocsp-api.c) finds each
 * block by searching for "-----BEGIN OCSP RESPONSE" and base64-decodes it
 * under that label; `gnutls-cli --save-ocsp-multi` writes the same form.
 * GnuTLS matches each response to a certificate by its CertID, so the order
 * is not what pairs them, but leaf first is what the operator will write.
 *
 * Until the operator writes this key itself, the tests make it here.
 */
import { writeFile } from "node:fs/promises";

const LABEL = "OCSP RESPONSE";

/** `responses` (DER) as consecutive `OCSP RESPONSE` PEM blocks, 64 base64 characters a line. */
export function ocspBundlePem(responses: readonly Uint8Array[]): string {
  return responses.map((der) => {
    const lines = Buffer.from(der).toString("base64").match(/.{1,64}/g) ?? [];
    return `-----BEGIN ${LABEL}-----\n${lines.join("\n")}\n-----END ${LABEL}-----\n`;
  }).join("");
}

/** Writes the bundle to `path` and returns `path`. */
export async function writeOcspBundle(path: string, responses: readonly Uint8Array[]): Promise<string> {
  await writeFile(path, ocspBundlePem(responses));
  return path;
}

/** The DER responses of a bundle, in file order (what `gnutls-cli --save-ocsp-multi` saved, say). */
export function parseOcspBundle(pem: string): Buffer[] {
  const block = new RegExp(`-----BEGIN ${LABEL}-----([A-Za-z0-9+/=\\s]*?)-----END ${LABEL}-----`, "g");
  return [...pem.matchAll(block)].map((match) => Buffer.from((match[1] ?? "").replace(/\s+/g, ""), "base64"));
}
