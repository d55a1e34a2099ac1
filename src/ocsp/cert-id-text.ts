import type { CertId } from "./cert-id.ts";
import type { HashName } from "./oids.ts";

/**
 * CertIDs as text, for the `ocsp-stapler.io/cert-ids` annotation: entries
 * `<hash>:<issuerNameHashHex>:<issuerKeyHashHex>:<serialHex>`, comma-separated,
 * lowercase hex, the serial as `serialHex` writes it. A staple is stored with
 * the CertID of one hash algorithm, but requests come with SHA-1 or SHA-256
 * CertIDs, so the operator writes the leaf's CertID under both and the
 * in-cluster responder indexes the staple under each.
 */
export function formatCertIds(ids: readonly CertId[]): string {
  return ids.map((id) => [id.hashAlgorithm, hex(id.issuerNameHash), hex(id.issuerKeyHash), id.serial].join(":")).join(",");
}

/**
 * The CertIDs of `formatCertIds`'s text. The annotation may have been edited
 * by anyone with write access to the Secret, so nothing here throws: an entry
 * with an unknown hash name, hashes of the wrong length, or anything else
 * malformed is skipped.
 */
export function parseCertIds(text: string): CertId[] {
  return text.split(",").flatMap((entry) => {
    const id = parseEntry(entry.trim());
    return id === undefined ? [] : [id];
  });
}

/** Digest length in bytes per hash a CertID may use: the hashes must have exactly this many. */
const DIGEST_BYTES: Readonly<Record<HashName, number>> = { sha1: 20, sha224: 28, sha256: 32, sha384: 48, sha512: 64 };

/** Lowercase hex of whole bytes; a serial also without leading zero bytes (serialHex), or it would never equal a request's. */
const HEX_BYTES = /^(?:[0-9a-f]{2})+$/;

function parseEntry(entry: string): CertId | undefined {
  const parts = entry.split(":");
  if (parts.length !== 4) return undefined;
  const [hash, nameHash, keyHash, serial] = parts as [string, string, string, string];
  if (!Object.hasOwn(DIGEST_BYTES, hash)) return undefined;
  const hashAlgorithm = hash as HashName;
  const digestHex = DIGEST_BYTES[hashAlgorithm] * 2;
  if (!isDigest(nameHash, digestHex) || !isDigest(keyHash, digestHex) || !isSerial(serial)) return undefined;
  return { hashAlgorithm, issuerNameHash: fromHex(nameHash), issuerKeyHash: fromHex(keyHash), serial };
}

function isDigest(text: string, length: number): boolean {
  return text.length === length && HEX_BYTES.test(text);
}

function isSerial(text: string): boolean {
  return HEX_BYTES.test(text) && (text.length === 2 || !text.startsWith("00"));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function fromHex(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "hex"));
}
