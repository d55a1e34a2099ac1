import { haproxyCommand } from "./haproxy-runtime.ts";

/** What a running HAProxy holds for one certificate, as its runtime API shows it. */
export interface HeldStaple {
  /** The key HAProxy files the response under: the DER of its CertID, in hex. */
  readonly certIdKey: string;
  /** "This Update" of the response HAProxy holds, to the second (OpenSSL prints no more). */
  readonly thisUpdate: Date;
}

/**
 * The staple HAProxy holds for the certificate with this serial, or
 * undefined when it holds none (it started without one, or restarted and
 * loaded nothing). Asked with `show ssl ocsp-response` (every response by
 * CertID, with its serial) and `show ssl ocsp-response <id>` (the response
 * as `openssl ocsp -text` prints it): HAProxy 2.6 shows a response only as
 * text, so its thisUpdate is what can be compared. Throws
 * HaproxyRuntimeError when HAProxy cannot be asked (not running, restarting).
 */
export async function heldStaple(socketPath: string, serialHex: string, timeoutMs?: number): Promise<HeldStaple | undefined> {
  const entry = parseOcspResponseList(await haproxyCommand(socketPath, "show ssl ocsp-response", timeoutMs)).find((candidate) => sameSerial(candidate.serial, serialHex));
  if (entry === undefined) return undefined;
  const thisUpdate = parseThisUpdate(await haproxyCommand(socketPath, `show ssl ocsp-response ${entry.certIdKey}`, timeoutMs));
  return thisUpdate === undefined ? undefined : { certIdKey: entry.certIdKey, thisUpdate };
}

/**
 * The entries of `show ssl ocsp-response`:
 *
 *   Certificate ID key : 3049300906052b0e03021a05000414…
 *    Certificate ID:
 *      Issuer Name Hash: 2D6E…
 *      Issuer Key Hash: 9201…
 *      Serial Number: 5378FA20B4DD7B6A7BE7A852B56FDCE4
 */
export function parseOcspResponseList(text: string): { certIdKey: string; serial: string }[] {
  const entries: { certIdKey: string; serial: string }[] = [];
  for (const block of text.split(/^Certificate ID key : /m).slice(1)) {
    const key = /^([0-9a-f]+)\s*$/im.exec(block)?.[1];
    const serial = /^\s*Serial Number: ([0-9A-F]+)\s*$/im.exec(block)?.[1];
    if (key !== undefined && serial !== undefined) entries.push({ certIdKey: key.toLowerCase(), serial });
  }
  return entries;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** "This Update: Dec  7 13:18:32 2026 GMT" (OpenSSL's ASN1_TIME_print) of one response's text, as a Date. */
export function parseThisUpdate(text: string): Date | undefined {
  const match = /^\s*This Update: (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT\s*$/m.exec(text);
  if (match === null) return undefined;
  const [, month = "", day, hours, minutes, seconds, year] = match;
  const monthIndex = MONTHS.indexOf(month);
  return monthIndex < 0 ? undefined : new Date(Date.UTC(Number(year), monthIndex, Number(day), Number(hours), Number(minutes), Number(seconds)));
}

/** Serials in hex, whatever the case and leading zeros (OpenSSL prints upper case, the engine lower case). */
function sameSerial(a: string, b: string): boolean {
  const normal = (hex: string): string => hex.toLowerCase().replace(/^0+(?=.)/, "");
  return normal(a) === normal(b);
}
