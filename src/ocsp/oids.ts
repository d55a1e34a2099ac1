/** Object identifiers the engine recognizes, named as in the RFCs. */
export const OID = {
  // RFC 6960 §4.2.1, §4.4
  ocspBasic: "1.3.6.1.5.5.7.48.1.1",
  ocspNonce: "1.3.6.1.5.5.7.48.1.2",
  ocspNoCheck: "1.3.6.1.5.5.7.48.1.5",
  kpOcspSigning: "1.3.6.1.5.5.7.3.9",
  // RFC 5280 §4.2.2.1
  authorityInfoAccess: "1.3.6.1.5.5.7.1.1",
  adOcsp: "1.3.6.1.5.5.7.48.1",
  adCaIssuers: "1.3.6.1.5.5.7.48.2",
  extKeyUsage: "2.5.29.37",
  // RFC 7633 §4.1: the TLS Feature extension (must-staple when it lists status_request)
  tlsFeature: "1.3.6.1.5.5.7.1.24",
  // Hash algorithms (CertID)
  sha1: "1.3.14.3.2.26",
  sha224: "2.16.840.1.101.3.4.2.4",
  sha256: "2.16.840.1.101.3.4.2.1",
  sha384: "2.16.840.1.101.3.4.2.2",
  sha512: "2.16.840.1.101.3.4.2.3",
  // Signature algorithms
  rsaEncryption: "1.2.840.113549.1.1.1",
  md5WithRSA: "1.2.840.113549.1.1.4",
  sha1WithRSA: "1.2.840.113549.1.1.5",
  rsassaPss: "1.2.840.113549.1.1.10",
  sha256WithRSA: "1.2.840.113549.1.1.11",
  sha384WithRSA: "1.2.840.113549.1.1.12",
  sha512WithRSA: "1.2.840.113549.1.1.13",
  sha224WithRSA: "1.2.840.113549.1.1.14",
  mgf1: "1.2.840.113549.1.1.8",
  ecdsaWithSha1: "1.2.840.10045.4.1",
  ecdsaWithSha224: "1.2.840.10045.4.3.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  ecdsaWithSha384: "1.2.840.10045.4.3.3",
  ecdsaWithSha512: "1.2.840.10045.4.3.4",
  ed25519: "1.3.101.112",
  ed448: "1.3.101.113",
  // PKCS#7 (AIA caIssuers may serve a certs-only SignedData)
  pkcs7SignedData: "1.2.840.113549.1.7.2",
} as const;

/** CertID hash algorithms by OID, with Node's digest name. */
export const HASH_BY_OID: ReadonlyMap<string, HashName> = new Map([
  [OID.sha1, "sha1"],
  [OID.sha224, "sha224"],
  [OID.sha256, "sha256"],
  [OID.sha384, "sha384"],
  [OID.sha512, "sha512"],
]);

export type HashName = "sha1" | "sha224" | "sha256" | "sha384" | "sha512";

export const OID_BY_HASH: Readonly<Record<HashName, string>> = {
  sha1: OID.sha1,
  sha224: OID.sha224,
  sha256: OID.sha256,
  sha384: OID.sha384,
  sha512: OID.sha512,
};
