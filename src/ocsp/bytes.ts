import { createHash } from "node:crypto";

/**
 * Small byte helpers. asn1js parses an ArrayBuffer about a third faster than a
 * Node Buffer (its buffer-source checks run per block), so DER enters the
 * parser through `toArrayBuffer`.
 */
export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** SHA-256 of DER bytes as lowercase hex: how certificates are keyed and compared (cert-sha256). */
export function sha256Hex(der: Uint8Array): string {
  return createHash("sha256").update(der).digest("hex");
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * A DER INTEGER's magnitude as lowercase hex without leading zero bytes, so
 * serial numbers compare equal however the encoder padded them.
 */
export function serialHex(integerBytes: Uint8Array): string {
  let start = 0;
  while (start < integerBytes.length - 1 && integerBytes[start] === 0) start++;
  return toHex(integerBytes.subarray(start));
}
