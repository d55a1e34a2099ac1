import { createHash } from "node:crypto";
import type { CertId, ResponseCertId } from "../ocsp/cert-id.ts";
import { readCertificateFields } from "../ocsp/certificate-fields.ts";
import { isOcspError } from "../ocsp/errors.ts";
import { OID_BY_HASH } from "../ocsp/oids.ts";
import { parseResponse } from "../ocsp/response-parser.ts";
import { NO_NEXT_UPDATE_WINDOW_MS } from "../ocsp/verify.ts";
import { certIdKey } from "./cert-id-key.ts";

/**
 * A staple the operator wrote, as the responder serves it: the exact signed
 * bytes, every CertID it answers for, and the times its HTTP caching headers
 * and its end of service come from.
 */
export interface ServableStaple {
  readonly der: Buffer;
  /** certIdKey of each CertID it answers (the response's own, and the operator's other-algorithm aliases). */
  readonly certIdKeys: readonly string[];
  readonly thisUpdateMs: number;
  /** When it stops being served: the earliest of nextUpdate, the operator's usable end and any embedded certificate's notAfter. */
  readonly usableUntilMs: number;
  /** RFC 5019 §6.2: a strong validator, the SHA-1 of the response, quoted. */
  readonly etag: string;
}

/** What the operator wrote beside the staple (annotations), when it did. */
export interface StapleHints {
  /** `ocsp-stapler.io/usable-until`: the usable end the operator computed (it knows the leaf's notAfter; the response alone does not). */
  readonly usableUntil?: string | undefined;
  /** `ocsp-stapler.io/cert-ids`: the leaf's CertID in SHA-1 and SHA-256. */
  readonly certIds?: readonly CertId[];
}

/**
 * Reads a stored staple, or undefined if the bytes are not a successful basic
 * OCSP response (another key's data, a PEM bundle). Nothing is verified here:
 * only the operator writes these Secrets, and it writes only responses that
 * verified (RBAC and the admission guard keep everyone else out).
 */
export function servableStaple(der: Buffer, hints: StapleHints = {}): ServableStaple | undefined {
  let response;
  try {
    response = parseResponse(der);
  } catch (error) {
    if (isOcspError(error)) return undefined;
    throw error;
  }
  const own = response.responses.map((single) => single.certId);
  if (own.length === 0) return undefined;
  const thisUpdateMs = Math.min(...response.responses.map((single) => single.thisUpdate.getTime()));
  const ends = [
    ...response.responses.map((single) => single.nextUpdate?.getTime() ?? single.thisUpdate.getTime() + NO_NEXT_UPDATE_WINDOW_MS),
    ...embeddedNotAfters(response.certificates),
    ...validTime(hints.usableUntil),
  ];
  return {
    der,
    certIdKeys: [...new Set([...own.map(certIdKey), ...aliasKeys(own, hints.certIds ?? [])])],
    thisUpdateMs,
    usableUntilMs: Math.min(...ends),
    etag: `"${createHash("sha1").update(der).digest("hex")}"`,
  };
}

/**
 * The operator's CertIDs in other hash algorithms, taken only when one of
 * them is a CertID the response itself answers: a wrong or stale annotation
 * can never make a staple answer for another certificate.
 */
function aliasKeys(own: readonly ResponseCertId[], aliases: readonly CertId[]): string[] {
  const asResponseIds = aliases.map((alias): ResponseCertId => ({ ...alias, hashAlgorithmOid: OID_BY_HASH[alias.hashAlgorithm] }));
  const ownKeys = new Set(own.map(certIdKey));
  const keys = asResponseIds.map(certIdKey);
  return keys.some((key) => ownKeys.has(key)) ? keys : [];
}

/** A delegated responder's certificate ends the staple's use too (a client checks it). */
function embeddedNotAfters(certificates: readonly Uint8Array[]): number[] {
  return certificates.flatMap((certificate) => {
    try {
      return [readCertificateFields(certificate).notAfter.getTime()];
    } catch (error) {
      if (isOcspError(error)) return [];
      throw error;
    }
  });
}

function validTime(text: string | undefined): number[] {
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isNaN(ms) ? [] : [ms];
}
