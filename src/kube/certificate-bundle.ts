import { createHash } from "node:crypto";
// The engine's own patterns: what it reads is what is kept.
import { BASE64_BODY, PEM_CERTIFICATE } from "../ocsp/pem.ts";

/**
 * A PEM bundle (`tls.crt`, `ca.crt`) as the cache keeps it: the DER of each
 * certificate, not the PEM text, and every certificate after the first
 * shared with every other Secret that holds the same one. A fleet's
 * Secrets carry the same few intermediates; 10,000 Secrets of one CA kept
 * 10,000 copies of its PEM (half of each tls.crt). `pem` gives the text
 * back, certificate for certificate, for the engine's `readChain`.
 *
 * What the engine would skip is dropped here too (text between blocks,
 * other PEM blocks such as a private key pasted into tls.crt: never cached).
 * A CERTIFICATE block that is not clean base64 is kept as its text, so the
 * engine reports it exactly as before (BadCertificate, same message).
 */
export class CertificateBundle {
  /** DER per certificate, in order; undefined when the blocks are kept as text. */
  private readonly certificates: readonly Uint8Array[] | undefined;
  private readonly text: string | undefined;
  /** SHA-256 of the DER certificates (or of the text kept): compares bundles without decoding them. */
  readonly sha256: string;

  private constructor(certificates: readonly Uint8Array[] | undefined, text: string | undefined) {
    this.certificates = certificates;
    this.text = text;
    this.sha256 = sha256Of(certificates ?? [Buffer.from(text ?? "", "latin1")]);
  }

  /** From a Secret's data value (base64 of the file). */
  static fromBase64(value: string, shared: DerPool): CertificateBundle {
    const blocks = [...Buffer.from(value, "base64").toString("latin1").matchAll(PEM_CERTIFICATE)];
    if (!blocks.every((block) => BASE64_BODY.test(block[1] ?? ""))) return new CertificateBundle(undefined, blocks.map((block) => block[0]).join("\n"));
    return new CertificateBundle(blocks.map((block, index) => {
      const der = new Uint8Array(Buffer.from(block[1] ?? "", "base64"));
      // The leaf is this Secret's own; the rest are the CA's, the same in many Secrets.
      return index === 0 ? der : shared.intern(der);
    }), undefined);
  }

  /** The DER of each certificate, leaf first (empty when the blocks are kept as text). */
  get ders(): readonly Uint8Array[] {
    return this.certificates ?? [];
  }

  /** The bundle as PEM text: one block per certificate (empty when there is none). */
  get pem(): string {
    if (this.certificates === undefined) return this.text ?? "";
    return this.certificates.map((der) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n")}\n-----END CERTIFICATE-----\n`).join("");
  }
}

function sha256Of(parts: readonly Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex");
}

/**
 * One copy of each CA certificate for the whole cache. Entries are held
 * weakly: a certificate no cached Secret holds any more is collected, so the
 * pool never outgrows the Secrets that use it.
 */
export class DerPool {
  private readonly entries = new Map<string, WeakRef<Uint8Array>>();
  private readonly cleanup = new FinalizationRegistry<string>((key) => {
    if (this.entries.get(key)?.deref() === undefined) this.entries.delete(key);
  });

  intern(der: Uint8Array): Uint8Array {
    const key = Buffer.from(der).toString("base64");
    const existing = this.entries.get(key)?.deref();
    if (existing !== undefined) return existing;
    this.entries.set(key, new WeakRef(der));
    this.cleanup.register(der, key);
    return der;
  }
}
