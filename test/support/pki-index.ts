/**
 * OpenSSL's CA database (`index.txt`), the status source of `openssl ocsp
 * -index`. Tests state which serials are good or revoked; a serial missing
 * from the file is answered "unknown".
 */
import { rename, stat, utimes, writeFile } from "node:fs/promises";
import { generalizedTime, utcTime } from "./pki-openssl.ts";

/** The reason names OpenSSL's index understands (`crl_reasons` in apps/ca.c). */
export type RevocationReason =
  | "unspecified"
  | "keyCompromise"
  | "CACompromise"
  | "affiliationChanged"
  | "superseded"
  | "cessationOfOperation"
  | "certificateHold"
  | "removeFromCRL";

export interface IndexEntry {
  /** Hex, any case, leading zeros allowed; it is normalised the way OpenSSL looks serials up. */
  readonly serialHex: string;
  readonly status: "good" | "revoked";
  /** Required when revoked; years 1950..2049 (OpenSSL reads it as UTCTime). */
  readonly revokedAt?: Date;
  /** Omitted: the response carries no revocationReason at all. */
  readonly reason?: RevocationReason;
  /** The certificate's notAfter; informational for `openssl ocsp`. */
  readonly expires: Date;
  /** The subject in OpenSSL's one-line form, e.g. `/CN=leaf`; informational. */
  readonly subject: string;
}

/**
 * A serial as `openssl ocsp` looks it up: `BN_bn2hex` of the CertID serial,
 * i.e. upper-case, no leading zero bytes, an even number of digits ("00" for zero).
 */
export function indexSerial(serialHex: string): string {
  if (!/^[0-9a-f]+$/i.test(serialHex)) {
    throw new Error(`not a hex serial: ${JSON.stringify(serialHex)}`);
  }
  const digits = serialHex.replace(/^0+/, "").toUpperCase();
  return digits.length % 2 === 0 ? digits || "00" : `0${digits}`;
}

/** Expiry as OpenSSL writes it: UTCTime while it can, GeneralizedTime from 2050. */
function indexTime(date: Date): string {
  const year = date.getUTCFullYear();
  return year >= 1950 && year <= 2049 ? utcTime(date) : generalizedTime(date);
}

function revocationField(entry: IndexEntry): string {
  if (entry.status === "good") {
    return "";
  }
  if (entry.revokedAt === undefined) {
    throw new Error(`revoked serial ${entry.serialHex} needs revokedAt`);
  }
  const when = utcTime(entry.revokedAt);
  return entry.reason === undefined ? when : `${when},${entry.reason}`;
}

/** One tab-separated line: flag, expiry, revocation[,reason], serial, file name ("unknown"), subject. */
export function indexLine(entry: IndexEntry): string {
  if (/[\t\r\n]/.test(entry.subject)) {
    throw new Error(`subject would break the index: ${JSON.stringify(entry.subject)}`);
  }
  const flag = entry.status === "good" ? "V" : "R";
  const fields = [flag, indexTime(entry.expires), revocationField(entry), indexSerial(entry.serialHex), "unknown", entry.subject];
  return `${fields.join("\t")}\n`;
}

/**
 * Writes `entries` to `path` (plus `path.attr`, allowing repeated subjects).
 * The file is replaced by a rename and its mtime moved at least one second
 * past the previous file's: `openssl ocsp` notices a new index only by a
 * change of inode, ctime or whole-second mtime, so a same-second rewrite in
 * place could go unnoticed.
 */
let writes = 0;

export async function writeIndexFile(path: string, entries: readonly IndexEntry[]): Promise<string> {
  const previous = await mtimeSeconds(path);
  const text = entries.map(indexLine).join("");
  writes += 1;
  const temporary = `${path}.${String(process.pid)}-${String(writes)}.tmp`;
  await writeFile(`${path}.attr`, "unique_subject = no\n");
  await writeFile(temporary, text);
  const seconds = Math.max(Math.floor(Date.now() / 1000), previous === undefined ? 0 : previous + 1);
  await utimes(temporary, seconds, seconds);
  await rename(temporary, path);
  return path;
}

async function mtimeSeconds(path: string): Promise<number | undefined> {
  try {
    return Math.floor((await stat(path)).mtimeMs / 1000);
  } catch {
    return undefined;
  }
}
