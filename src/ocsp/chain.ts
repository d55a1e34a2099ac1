import type { Certificate } from "./certificate.ts";
import { readCertificates } from "./pem.ts";
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

export function readChain(tlsCrt: Uint8Array | string, caCrt?: Uint8Array | string): Chain {
  const [leaf, ...intermediates] = readCertificates(tlsCrt, "tls.crt");
  if (leaf === undefined) return fail("BadCertificate", "tls.crt contains no certificate");
  const extraCas = caCrt === undefined ? [] : readCertificates(caCrt, "ca.crt");
  return { leaf, intermediates, extraCas };
}
