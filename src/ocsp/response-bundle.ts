import { MAX_STAPLED_CHAIN_CERTIFICATES } from "./chain-elements.ts";
import { fail } from "./errors.ts";
import { BASE64_BODY } from "./pem.ts";

/**
 * The PEM label of an OCSP response, as GnuTLS reads it: with
 * `GNUTLS_X509_FMT_PEM`, gnutls_certificate_set_ocsp_status_request_mem
 * (lib/ocsp-api.c) loads every block starting "-----BEGIN OCSP RESPONSE",
 * one response per block, and matches each to the certificate of the chain
 * it is about. That is what Exim's `tls_ocsp_file = PEM <file>` hands it.
 */
export const OCSP_RESPONSE_PEM_LABEL = "OCSP RESPONSE";

const BEGIN = `-----BEGIN ${OCSP_RESPONSE_PEM_LABEL}-----`;
const END = `-----END ${OCSP_RESPONSE_PEM_LABEL}-----`;
const BLOCK = new RegExp(`${BEGIN}([^-]*)${END}`, "g");

/** RFC 7468 §2: base64 lines of 64 characters. */
const LINE_LENGTH = 64;

/**
 * Several DER OCSP responses as one text file of PEM blocks, in the order
 * given: the chain's, leaf first (what `fetch --chain full --out` writes and
 * GnuTLS servers load). Each block holds exactly the bytes the responder signed.
 */
export function encodeResponseBundle(responses: readonly Uint8Array[]): string {
  return responses.map((der) => {
    const base64 = Buffer.from(der).toString("base64");
    const lines = base64.match(new RegExp(`.{1,${LINE_LENGTH}}`, "g")) ?? [];
    return `${BEGIN}\n${lines.join("\n")}\n${END}\n`;
  }).join("");
}

/**
 * Whether a file holds OCSP response PEM blocks (a bundle) rather than a
 * single DER response. A DER response starts with a SEQUENCE tag (0x30) and
 * is never taken for a bundle, whatever bytes it carries.
 */
export function isResponseBundle(input: Uint8Array | string): boolean {
  if (typeof input !== "string" && input[0] === 0x30) return false;
  return textOf(input).includes(BEGIN);
}

/**
 * The DER responses of a bundle, in file order, not yet decoded or verified
 * (verifyResponse decodes them, with pkijs/asn1js). Text outside the blocks
 * is ignored, as PEM readers do. Refused with MalformedResponse: no complete
 * block, a block cut short, a body that is not base64; with BadInput, more
 * blocks than a chain may have elements (counted before anything is decoded).
 */
export function readResponseBundle(input: Uint8Array | string, label: string): Uint8Array[] {
  const text = textOf(input);
  const blocks = [...text.matchAll(BLOCK)];
  const begun = text.split(BEGIN).length - 1;
  if (blocks.length === 0) return fail("MalformedResponse", `${label} holds no complete "${BEGIN}" block`);
  if (begun !== blocks.length) fail("MalformedResponse", `${label} has ${begun - blocks.length} "${BEGIN}" block(s) without their "${END}" line`);
  if (blocks.length > MAX_STAPLED_CHAIN_CERTIFICATES) {
    fail("BadInput", `${label} holds ${blocks.length} OCSP responses, more than the ${MAX_STAPLED_CHAIN_CERTIFICATES} a chain may have`);
  }
  return blocks.map((match, index) => {
    const body = match[1] ?? "";
    if (!BASE64_BODY.test(body)) fail("MalformedResponse", `${label} (response ${index + 1} of ${blocks.length}) has characters that are not base64`);
    return new Uint8Array(Buffer.from(body, "base64"));
  });
}

function textOf(input: Uint8Array | string): string {
  return typeof input === "string" ? input : Buffer.from(input).toString("latin1");
}
