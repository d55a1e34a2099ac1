import { createHash, X509Certificate, type KeyObject } from "node:crypto";
import * as pkijs from "pkijs";
import { serialHex, toArrayBuffer } from "./bytes.ts";
import { fail, messageOf } from "./errors.ts";
import { OID } from "./oids.ts";

/**
 * One X.509 certificate, decoded once, with exactly the facts the engine asks
 * of it. The DER is decoded by pkijs (names, key bits, extensions); signatures
 * are checked by Node's X509Certificate (OpenSSL), which handles every
 * algorithm a CA uses, PSS and Ed25519 included.
 */
export class Certificate {
  readonly der: Uint8Array;
  /** Exact DER of the subject Name: what issuerNameHash and byName ResponderIDs hash or compare. */
  readonly subjectDer: Uint8Array;
  readonly issuerDer: Uint8Array;
  /** Contents of the subjectPublicKey BIT STRING: what issuerKeyHash and byKey ResponderIDs hash. */
  readonly publicKeyBits: Uint8Array;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly ocspUrls: readonly string[];
  readonly caIssuerUrls: readonly string[];
  readonly extendedKeyUsages: readonly string[];
  readonly subject: string;
  /** Built once per certificate: creating a KeyObject costs more than a verify. */
  readonly publicKey: KeyObject;
  private readonly x509: X509Certificate;
  private cachedKeyHash: Uint8Array | undefined;
  private cachedSha256: string | undefined;

  private constructor(der: Uint8Array, parsed: pkijs.Certificate, x509: X509Certificate, publicKey: KeyObject) {
    this.der = der;
    this.x509 = x509;
    this.publicKey = publicKey;
    this.subjectDer = new Uint8Array(parsed.subject.valueBeforeDecode);
    this.issuerDer = new Uint8Array(parsed.issuer.valueBeforeDecode);
    this.publicKeyBits = parsed.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView.slice();
    this.serial = serialHex(parsed.serialNumber.valueBlock.valueHexView);
    this.notBefore = parsed.notBefore.value;
    this.notAfter = parsed.notAfter.value;
    const access = readAuthorityInfoAccess(parsed);
    this.ocspUrls = access.ocsp;
    this.caIssuerUrls = access.caIssuers;
    this.extendedKeyUsages = readExtendedKeyUsages(parsed);
    this.subject = x509.subject.replaceAll("\n", ", ");
  }

  /** Decodes one DER certificate; anything else is `BadCertificate`. */
  static fromDer(der: Uint8Array, label = "certificate"): Certificate {
    try {
      const x509 = new X509Certificate(der);
      // Read the key now: OpenSSL defers decoding it, and a broken key must fail here, as BadCertificate.
      return new Certificate(der, pkijs.Certificate.fromBER(toArrayBuffer(der)), x509, x509.publicKey);
    } catch (error) {
      return fail("BadCertificate", `${label} is not a valid X.509 certificate: ${messageOf(error)}`, error);
    }
  }

  /**
   * SHA-256 of the DER: the identity a staple is bound to (annotation
   * `cert-sha256`), so rotation shows at a glance. Computed once: the
   * reconciler and the verification cache's key ask for it on every pass.
   */
  get sha256(): string {
    this.cachedSha256 ??= createHash("sha256").update(this.der).digest("hex");
    return this.cachedSha256;
  }

  /** SHA-1 of the key bits: how a byKey ResponderID names its signer (RFC 6960 §4.2.1). */
  get keyHashSha1(): Uint8Array {
    this.cachedKeyHash ??= new Uint8Array(createHash("sha1").update(this.publicKeyBits).digest());
    return this.cachedKeyHash;
  }

  /** True when `issuer`'s key verifies this certificate's signature (and the names chain). */
  isIssuedBy(issuer: Certificate): boolean {
    if (!Buffer.from(this.issuerDer).equals(issuer.subjectDer)) return false;
    try {
      return this.x509.verify(issuer.publicKey);
    } catch {
      return false;
    }
  }
}

function readAuthorityInfoAccess(cert: pkijs.Certificate): { ocsp: string[]; caIssuers: string[] } {
  const result = { ocsp: [] as string[], caIssuers: [] as string[] };
  const extension = cert.extensions?.find((e) => e.extnID === OID.authorityInfoAccess);
  const parsed: unknown = extension?.parsedValue;
  if (!(parsed instanceof pkijs.InfoAccess)) return result;
  for (const description of parsed.accessDescriptions) {
    // GeneralName type 6 is uniformResourceIdentifier (RFC 5280 §4.2.1.6).
    if (description.accessLocation.type !== 6 || typeof description.accessLocation.value !== "string") continue;
    if (description.accessMethod === OID.adOcsp) result.ocsp.push(description.accessLocation.value);
    if (description.accessMethod === OID.adCaIssuers) result.caIssuers.push(description.accessLocation.value);
  }
  return result;
}

function readExtendedKeyUsages(cert: pkijs.Certificate): string[] {
  const extension = cert.extensions?.find((e) => e.extnID === OID.extKeyUsage);
  const parsed: unknown = extension?.parsedValue;
  return parsed instanceof pkijs.ExtKeyUsage ? [...parsed.keyPurposes] : [];
}
