import * as asn1js from "asn1js";
import { fail } from "./errors.ts";

/**
 * Typed steps through an asn1js tree. Each step either returns the expected
 * node or fails with `MalformedResponse` naming what was expected, so the
 * parser reads like the ASN.1 module it follows and no malformed input can
 * surface as a TypeError.
 */
const CONTEXT = 3;

export function children(node: asn1js.AsnType | undefined, what: string): asn1js.AsnType[] {
  if (node instanceof asn1js.Sequence || (node instanceof asn1js.Constructed && node.idBlock.isConstructed)) {
    return node.valueBlock.value;
  }
  return fail("MalformedResponse", `expected ${what} to be a SEQUENCE`);
}

export function isContextTag(node: asn1js.AsnType | undefined, tagNumber: number): boolean {
  return node !== undefined && node.idBlock.tagClass === CONTEXT && node.idBlock.tagNumber === tagNumber;
}

/** The single value inside an EXPLICIT context tag `[tagNumber]`. */
export function explicit(node: asn1js.AsnType | undefined, tagNumber: number, what: string): asn1js.AsnType {
  if (!isContextTag(node, tagNumber) || !(node instanceof asn1js.Constructed)) {
    return fail("MalformedResponse", `expected ${what} in [${tagNumber}]`);
  }
  const [inner, extra] = node.valueBlock.value;
  if (inner === undefined || extra !== undefined) return fail("MalformedResponse", `expected one value in ${what}`);
  return inner;
}

export function oid(node: asn1js.AsnType | undefined, what: string): string {
  if (node instanceof asn1js.ObjectIdentifier) return node.valueBlock.toString();
  return fail("MalformedResponse", `expected ${what} to be an OBJECT IDENTIFIER`);
}

export function octets(node: asn1js.AsnType | undefined, what: string): Uint8Array {
  if (node instanceof asn1js.OctetString && !node.idBlock.isConstructed) return node.valueBlock.valueHexView;
  return fail("MalformedResponse", `expected ${what} to be an OCTET STRING`);
}

export function integerBytes(node: asn1js.AsnType | undefined, what: string): Uint8Array {
  if (node instanceof asn1js.Integer) return node.valueBlock.valueHexView;
  return fail("MalformedResponse", `expected ${what} to be an INTEGER`);
}

export function smallInteger(node: asn1js.AsnType | undefined, what: string): number {
  if ((node instanceof asn1js.Integer || node instanceof asn1js.Enumerated) && node.valueBlock.valueHexView.length <= 4) {
    return node.valueBlock.valueDec;
  }
  return fail("MalformedResponse", `expected ${what} to be a small INTEGER or ENUMERATED`);
}

export function generalizedTime(node: asn1js.AsnType | undefined, what: string): Date {
  if (node instanceof asn1js.GeneralizedTime) {
    const date = node.toDate();
    if (!Number.isNaN(date.getTime())) return date;
  }
  return fail("MalformedResponse", `expected ${what} to be a GeneralizedTime`);
}

export function bitStringBytes(node: asn1js.AsnType | undefined, what: string): Uint8Array {
  if (node instanceof asn1js.BitString && !node.idBlock.isConstructed && node.valueBlock.unusedBits === 0) {
    return node.valueBlock.valueHexView;
  }
  return fail("MalformedResponse", `expected ${what} to be a BIT STRING of whole bytes`);
}

export function boolean(node: asn1js.AsnType | undefined, what: string): boolean {
  if (node instanceof asn1js.Boolean) return node.valueBlock.value;
  return fail("MalformedResponse", `expected ${what} to be a BOOLEAN`);
}

/** The exact encoded bytes of a node as they appeared in the input (what signatures cover). */
export function encodedBytes(node: asn1js.AsnType): Uint8Array {
  return node.valueBeforeDecodeView;
}

/**
 * Decodes one complete DER value; trailing bytes or a decoding error are
 * `MalformedResponse`.
 *
 * `parseEmbedded: false` stops asn1js from trying to decode the inside of every
 * OCTET STRING and BIT STRING (hashes, signatures) as ASN.1 too: that guessing
 * was three quarters of the parse time. Where an OCTET STRING does wrap DER
 * (responseBytes), the parser decodes it explicitly. The input is handed over
 * as a plain Uint8Array view (not a Node Buffer) so asn1js's fast path applies;
 * asn1js still copies it, so the result never aliases the caller's buffer.
 */
export function decodeDer(bytes: Uint8Array, what: string): asn1js.AsnType {
  const view = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let decoded: ReturnType<typeof asn1js.fromBER>;
  try {
    decoded = asn1js.fromBER(view, { parseEmbedded: false });
  } catch (error) {
    // asn1js reports most bad input in `result.error`, but throws for some (a GeneralizedTime it cannot read).
    return fail("MalformedResponse", `${what} is not valid DER: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  if (decoded.offset === -1 || decoded.result.error !== "") {
    return fail("MalformedResponse", `${what} is not valid DER: ${decoded.result.error || "decoding failed"}`);
  }
  if (decoded.offset !== bytes.byteLength) return fail("MalformedResponse", `${what} has ${bytes.byteLength - decoded.offset} trailing bytes`);
  return decoded.result;
}
