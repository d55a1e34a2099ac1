import { createHash, X509Certificate, type KeyObject } from "node:crypto";
import { serialHex } from "./bytes.ts";
import { readCertificateFields, type CertificateFields } from "./certificate-fields.ts";
import { fail, messageOf } from "./errors.ts";

/**
 * One X.509 certificate, decoded once, with exactly the facts the engine asks
 * of it. The DER is decoded by asn1js (names, key bits, extensions: see
 * certificate-fields.ts); signatures
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
  /** TLS Feature status_request (RFC 7633): clients that enforce it refuse the certificate without a staple. */
  readonly mustStaple: boolean;
  readonly subject: string;
  /** Built once per certificate: creating a KeyObject costs more than a verify. */
  readonly publicKey: KeyObject;
  private readonly x509: X509Certificate;
  private cachedKeyHash: Uint8Array | undefined;
  private cachedSha256: string | undefined;

  private constructor(der: Uint8Array, fields: CertificateFields, x509: X509Certificate, publicKey: KeyObject) {
    this.der = der;
    this.x509 = x509;
    this.publicKey = publicKey;
    this.subjectDer = fields.subjectDer;
    this.issuerDer = fields.issuerDer;
    this.publicKeyBits = fields.publicKeyBits;
    this.serial = serialHex(fields.serialBytes);
    this.notBefore = fields.notBefore;
    this.notAfter = fields.notAfter;
    this.ocspUrls = fields.ocspUrls;
    this.caIssuerUrls = fields.caIssuerUrls;
    this.extendedKeyUsages = fields.extendedKeyUsages;
    this.mustStaple = fields.mustStaple;
    this.subject = x509.subject.replaceAll("\n", ", ");
  }

  /** Decodes one DER certificate; anything else is `BadCertificate`. */
  static fromDer(der: Uint8Array, label = "certificate"): Certificate {
    try {
      const x509 = new X509Certificate(der);
      // Read the key now: OpenSSL defers decoding it, and a broken key must fail here, as BadCertificate.
      return new Certificate(der, readCertificateFields(der), x509, x509.publicKey);
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
