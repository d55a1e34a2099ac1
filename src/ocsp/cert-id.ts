import { createHash } from "node:crypto";
import { bytesEqual } from "./bytes.ts";
import type { Certificate } from "./certificate.ts";
import { HASH_BY_OID, type HashName } from "./oids.ts";

/**
 * The CertID of RFC 6960 §4.1.1: which certificate a request asks about and a
 * SingleResponse answers for. SHA-1 is the default because RFC 5019 requires
 * responders to support it (and CDN-cached responders key on it); SHA-256 is
 * available for responders that prefer it.
 */
export interface CertId {
  readonly hashAlgorithm: HashName;
  readonly issuerNameHash: Uint8Array;
  readonly issuerKeyHash: Uint8Array;
  /** Serial as lowercase hex without leading zeros (see bytes.serialHex). */
  readonly serial: string;
}

export function certIdFor(subjectSerial: string, issuer: Certificate, hashAlgorithm: HashName = "sha1"): CertId {
  return {
    hashAlgorithm,
    issuerNameHash: digest(hashAlgorithm, issuer.subjectDer),
    issuerKeyHash: digest(hashAlgorithm, issuer.publicKeyBits),
    serial: subjectSerial,
  };
}

/** The hashes requests name a CertID with in practice: SHA-1 (RFC 5019 requires it) and SHA-256. */
export const REQUEST_HASHES: readonly HashName[] = ["sha1", "sha256"];

/**
 * The subject's CertID under each of REQUEST_HASHES, in that order: a staple
 * holds the CertID of one algorithm, and an in-cluster responder must find it
 * whichever a request uses (the `ocsp-stapler.io/cert-ids` annotation).
 */
export function certIdsFor(subjectSerial: string, issuer: Certificate): CertId[] {
  return REQUEST_HASHES.map((hash) => certIdFor(subjectSerial, issuer, hash));
}

/** The CertID as a response states it, before we know whether we can hash with its algorithm. */
export interface ResponseCertId {
  readonly hashAlgorithmOid: string;
  readonly issuerNameHash: Uint8Array;
  readonly issuerKeyHash: Uint8Array;
  readonly serial: string;
}

/**
 * Whether a response's CertID names `serial` under `issuer`. A responder may
 * answer with another hash algorithm than we asked with, so the issuer's
 * hashes are recomputed with the response's algorithm.
 */
export function certIdMatches(candidate: ResponseCertId, serial: string, issuer: Certificate): boolean {
  const hash = HASH_BY_OID.get(candidate.hashAlgorithmOid);
  if (hash === undefined || candidate.serial !== serial) return false;
  const expected = certIdFor(serial, issuer, hash);
  return bytesEqual(candidate.issuerNameHash, expected.issuerNameHash) && bytesEqual(candidate.issuerKeyHash, expected.issuerKeyHash);
}

function digest(hash: HashName, data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(data).digest());
}
