import { Certificate } from "./certificate.ts";
import { readCertificates, type CertificateDecoder } from "./pem.ts";
import { fail } from "./errors.ts";

/**
 * A served certificate chain as TLS Secrets hold it: `tls.crt` is the leaf
 * followed by its intermediates; `ca.crt` (optional) holds further CA
 * certificates, often the root, which servers do not send.
 */
export interface Chain {
  readonly leaf: Certificate;
  readonly intermediates: readonly Certificate[];
  readonly extraCas: readonly Certificate[];
}

/**
 * The most certificates `tls.crt` may hold. A served chain is the leaf and
 * one to three intermediates (four or five with a cross-signed root); more
 * is a mistake, such as a CA bundle pasted into the wrong key, and every
 * reconcile would decode all of it. Reported as BadCertificate, counted
 * before anything is decoded. `ca.crt` may legitimately hold a bundle of
 * roots and has no limit of its own beyond the Secret's size (1 MiB).
 */
export const MAX_CHAIN_CERTIFICATES = 10;

/**
 * `decodeAuthority`: decodes the CA certificates (all but tls.crt's first), so
 * a cache can share them between the many Secrets of one CA.
 */
export function readChain(tlsCrt: Uint8Array | string, caCrt?: Uint8Array | string, decodeAuthority?: CertificateDecoder): Chain {
  const decode: CertificateDecoder | undefined = decodeAuthority === undefined ? undefined : (der, label, index) => index === 0 ? Certificate.fromDer(der, label) : decodeAuthority(der, label, index);
  const [leaf, ...intermediates] = readCertificates(tlsCrt, "tls.crt", MAX_CHAIN_CERTIFICATES, decode);
  if (leaf === undefined) return fail("BadCertificate", "tls.crt contains no certificate");
  const extraCas = caCrt === undefined ? [] : readCertificates(caCrt, "ca.crt", Number.POSITIVE_INFINITY, decodeAuthority);
  return { leaf, intermediates, extraCas };
}
