import { isOcspError } from "./errors.ts";
import { parseResponse } from "./response-parser.ts";

/**
 * Whether `der` is a well-formed, successful basic OCSPResponse (RFC 6960
 * §4.2.1), whatever it answers and whoever signed it: nothing is verified.
 * For code that must tell a staple from other bytes without knowing ASN.1
 * (src/kube keeps only such values under the keys it may call its own). A
 * responder's error answer (tryLater, unauthorized…) is never stapled, so
 * it counts as no OCSP response here.
 */
export function isOcspResponse(der: Uint8Array): boolean {
  try {
    parseResponse(der);
    return true;
  } catch (error) {
    // parseResponse throws nothing but OcspError for any bytes: anything else is a bug to surface.
    if (isOcspError(error)) return false;
    throw error;
  }
}
