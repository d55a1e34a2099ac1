import { constants, verify, type KeyObject } from "node:crypto";
import * as asn1js from "asn1js";
import { fail, isOcspError, messageOf } from "./errors.ts";
import { HASH_BY_OID, OID, type HashName } from "./oids.ts";
import type { AlgorithmIdentifier } from "./response-parser.ts";
import { children, explicit, isContextTag, oid, smallInteger } from "./asn1-walk.ts";

/** How Node must check one signature: digest, key type and RSA padding. */
interface SignatureScheme {
  readonly digest: HashName | null;
  readonly keyTypes: readonly string[];
  readonly pss?: { readonly saltLength: number };
}

/**
 * Signature algorithms a response may use. SHA-1 stays accepted: CAs signed
 * OCSP responses with it for years and clients still accept them for OCSP; the
 * CertID binding, not the hash, is what an attacker would need to forge.
 * MD5 is refused.
 */
const SCHEMES: ReadonlyMap<string, SignatureScheme> = new Map([
  [OID.sha1WithRSA, { digest: "sha1", keyTypes: ["rsa"] }],
  [OID.sha224WithRSA, { digest: "sha224", keyTypes: ["rsa"] }],
  [OID.sha256WithRSA, { digest: "sha256", keyTypes: ["rsa"] }],
  [OID.sha384WithRSA, { digest: "sha384", keyTypes: ["rsa"] }],
  [OID.sha512WithRSA, { digest: "sha512", keyTypes: ["rsa"] }],
  [OID.ecdsaWithSha1, { digest: "sha1", keyTypes: ["ec"] }],
  [OID.ecdsaWithSha224, { digest: "sha224", keyTypes: ["ec"] }],
  [OID.ecdsaWithSha256, { digest: "sha256", keyTypes: ["ec"] }],
  [OID.ecdsaWithSha384, { digest: "sha384", keyTypes: ["ec"] }],
  [OID.ecdsaWithSha512, { digest: "sha512", keyTypes: ["ec"] }],
  [OID.ed25519, { digest: null, keyTypes: ["ed25519"] }],
  [OID.ed448, { digest: null, keyTypes: ["ed448"] }],
]);

/**
 * Checks `signature` over `data` with `key` under `algorithm`. Returns false
 * for a signature that does not verify; throws `UnsupportedAlgorithm` for an
 * algorithm we do not accept, and `BadSignature` when the key cannot have
 * made this kind of signature at all.
 */
export function signatureVerifies(algorithm: AlgorithmIdentifier, key: KeyObject, data: Uint8Array, signature: Uint8Array): boolean {
  const scheme = schemeFor(algorithm);
  const keyType = key.asymmetricKeyType ?? "none";
  if (!scheme.keyTypes.includes(keyType)) {
    return fail("BadSignature", `a ${algorithmName(algorithm)} signature cannot come from the signer's ${keyType} key`);
  }
  try {
    if (scheme.pss === undefined) return verify(scheme.digest, data, key, signature);
    return verify(scheme.digest, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.pss.saltLength }, signature);
  } catch {
    // OpenSSL throws rather than returning false for some malformed signatures.
    return false;
  }
}

function schemeFor(algorithm: AlgorithmIdentifier): SignatureScheme {
  if (algorithm.oid === OID.rsassaPss) return pssScheme(algorithm.parameters);
  const scheme = SCHEMES.get(algorithm.oid);
  if (scheme === undefined) return fail("UnsupportedAlgorithm", `signature algorithm ${algorithmName(algorithm)} is not supported`);
  return scheme;
}

/**
 * RSASSA-PSS parameters (RFC 4055 §3.1). Node uses the message digest for
 * MGF1 too, so a different MGF1 hash is refused rather than mis-verified.
 */
function pssScheme(parameters: asn1js.AsnType | undefined): SignatureScheme {
  try {
    let digest: HashName = "sha1";
    let mgfDigest: HashName = "sha1";
    let saltLength = 20;
    for (const field of parameters === undefined ? [] : children(parameters, "RSASSA-PSS-params")) {
      if (isContextTag(field, 0)) digest = hashOf(children(explicit(field, 0, "hashAlgorithm"), "hashAlgorithm")[0]);
      if (isContextTag(field, 1)) mgfDigest = mgf1Hash(explicit(field, 1, "maskGenAlgorithm"));
      if (isContextTag(field, 2)) saltLength = smallInteger(explicit(field, 2, "saltLength"), "saltLength");
      if (isContextTag(field, 3) && smallInteger(explicit(field, 3, "trailerField"), "trailerField") !== 1) throw new Error("trailerField must be 1");
    }
    if (mgfDigest !== digest) throw new Error(`MGF1 with ${mgfDigest} under ${digest}`);
    return { digest, keyTypes: ["rsa", "rsa-pss"], pss: { saltLength } };
  } catch (error) {
    if (isOcspError(error) && error.code === "UnsupportedAlgorithm") throw error;
    return fail("UnsupportedAlgorithm", `RSASSA-PSS parameters are not supported: ${messageOf(error)}`, error);
  }
}

function mgf1Hash(node: asn1js.AsnType): HashName {
  const [mgf, hashAlgorithm] = children(node, "maskGenAlgorithm");
  if (oid(mgf, "maskGenAlgorithm") !== OID.mgf1) throw new Error("mask generation function is not MGF1");
  return hashOf(children(hashAlgorithm, "MGF1 hash")[0]);
}

function hashOf(node: asn1js.AsnType | undefined): HashName {
  const id = oid(node, "hash algorithm");
  const hash = HASH_BY_OID.get(id);
  if (hash === undefined) throw new Error(`hash ${id} is not supported`);
  return hash;
}

const NAMES = new Map<string, string>(Object.entries(OID).map(([name, id]) => [id, name]));

export function algorithmName(algorithm: AlgorithmIdentifier): string {
  return NAMES.get(algorithm.oid) ?? algorithm.oid;
}
