// The asn1js walk reads every field the engine uses exactly as pkijs's typed
// parse does (pkijs here is the oracle), on every certificate of the shared
// vectors: RSA, ECDSA, Ed25519, v1 and v3, UTCTime and GeneralizedTime,
// delegated responders, AIA with several URLs.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { readCertificateFields } from "../../src/ocsp/certificate-fields.ts";
import { Certificate } from "../../src/ocsp/certificate.ts";
import { OID } from "../../src/ocsp/oids.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { createRootCa, type TestCa } from "../support/pki.ts";

const ROOT = new URL("../fixtures/ocsp-vectors/", import.meta.url);

function pemFiles(): string[] {
  return readdirSync(ROOT, { recursive: true, encoding: "utf8" }).filter((path) => path.endsWith(".pem")).sort();
}

/** The same fields read through pkijs (what the engine used before the walk). */
function throughPkijs(der: Uint8Array): Record<string, unknown> {
  const parsed = pkijs.Certificate.fromBER(der.slice().buffer);
  const extension = (id: string) => parsed.extensions?.find((candidate) => candidate.extnID === id)?.parsedValue as unknown;
  const access = extension(OID.authorityInfoAccess);
  const urls = (method: string) => (access instanceof pkijs.InfoAccess ? access.accessDescriptions : [])
    .filter((description) => description.accessMethod === method && description.accessLocation.type === 6)
    .map((description) => String(description.accessLocation.value));
  const usages = extension(OID.extKeyUsage);
  return {
    subjectDer: Buffer.from(parsed.subject.valueBeforeDecode).toString("hex"),
    issuerDer: Buffer.from(parsed.issuer.valueBeforeDecode).toString("hex"),
    publicKeyBits: Buffer.from(parsed.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).toString("hex"),
    serialBytes: Buffer.from(parsed.serialNumber.valueBlock.valueHexView).toString("hex"),
    notBefore: parsed.notBefore.value.toISOString(),
    notAfter: parsed.notAfter.value.toISOString(),
    ocspUrls: urls(OID.adOcsp),
    caIssuerUrls: urls(OID.adCaIssuers),
    extendedKeyUsages: usages instanceof pkijs.ExtKeyUsage ? usages.keyPurposes : [],
  };
}

function throughWalk(der: Uint8Array): Record<string, unknown> {
  const fields = readCertificateFields(der);
  const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
  return {
    subjectDer: hex(fields.subjectDer), issuerDer: hex(fields.issuerDer), publicKeyBits: hex(fields.publicKeyBits), serialBytes: hex(fields.serialBytes),
    notBefore: fields.notBefore.toISOString(), notAfter: fields.notAfter.toISOString(),
    ocspUrls: fields.ocspUrls, caIssuerUrls: fields.caIssuerUrls, extendedKeyUsages: fields.extendedKeyUsages,
  };
}

void describe("readCertificateFields agrees with pkijs", () => {
  const files = pemFiles();
  void it("has certificates to compare", () => { assert.ok(files.length >= 20, `${String(files.length)} PEM files`); });
  for (const path of files) {
    void it(path, () => {
      const certificates = readCertificates(readFileSync(new URL(path, ROOT)), path);
      for (const certificate of certificates) assert.deepEqual(throughWalk(certificate.der), throughPkijs(certificate.der));
    });
  }

  void it("a certificate cut short is BadCertificate, not a TypeError", () => {
    const [first] = readCertificates(readFileSync(new URL(files[0] ?? "", ROOT)), "first");
    const der = first?.der ?? assert.fail("a certificate");
    for (const length of [0, 1, 10, der.length - 1]) {
      assert.throws(() => Certificate.fromDer(der.subarray(0, length)), { code: "BadCertificate" });
    }
  });
});

void describe("must-staple: the TLS Feature extension (RFC 7633)", () => {
  let ca: TestCa | undefined;
  before(async () => { ca = await createRootCa({ name: "Must-Staple Test Root", key: "p256" }); });
  after(() => ca?.cleanup());
  const fieldsOf = async (mustStaple: boolean) => {
    const leaf = await (ca as TestCa).issue({ commonName: `must-staple-${String(mustStaple)}`, ocspUrl: "http://127.0.0.1:9/", mustStaple });
    const [certificate] = readCertificates(leaf.certPem, "leaf");
    return certificate ?? assert.fail("a certificate");
  };

  void it("a leaf whose TLS Feature lists status_request (5) is must-staple; one without the extension is not", async () => {
    const [must, plain] = await Promise.all([fieldsOf(true), fieldsOf(false)]);
    assert.equal(readCertificateFields(must.der).mustStaple, true);
    assert.equal(must.mustStaple, true);
    assert.equal(readCertificateFields(plain.der).mustStaple, false);
    assert.equal(plain.mustStaple, false);
  });

  void it("pkijs agrees: the extension's value is SEQUENCE OF INTEGER holding 5", async () => {
    const must = await fieldsOf(true);
    const parsed = pkijs.Certificate.fromBER(must.der.slice().buffer);
    const extension = parsed.extensions?.find((candidate) => candidate.extnID === OID.tlsFeature) ?? assert.fail("a TLS Feature extension");
    const features = asn1js.fromBER(extension.extnValue.valueBlock.valueHexView).result as asn1js.Sequence;
    assert.deepEqual(features.valueBlock.value.map((feature) => (feature as asn1js.Integer).valueBlock.valueDec), [5]);
  });

  void it("no certificate of the public vectors is must-staple", () => {
    for (const path of pemFiles()) {
      for (const certificate of readCertificates(readFileSync(new URL(path, ROOT)), path)) assert.equal(certificate.mustStaple, false, path);
    }
  });
});
