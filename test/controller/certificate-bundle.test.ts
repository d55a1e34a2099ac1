import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CertificateBundle, DerPool } from "../../src/kube/certificate-bundle.ts";
import { readChain } from "../../src/ocsp/chain.ts";
import { isOcspError } from "../../src/ocsp/errors.ts";
import { vector } from "../support/vectors.ts";

const pem = (...paths: string[]) => paths.map((path) => Buffer.from(vector(`openssl-ocsp-tests/${path}`)).toString("latin1")).join("\n");
const base64 = (text: string) => Buffer.from(text, "latin1").toString("base64");
/** What the engine makes of a tls.crt: the serials read, or the error code and message. */
const read = (text: string) => {
  try {
    const chain = readChain(text);
    return [chain.leaf, ...chain.intermediates].map((certificate) => certificate.serial);
  } catch (error) {
    assert.ok(isOcspError(error));
    return `${error.code}: ${error.message}`;
  }
};

void describe("a cached certificate bundle", () => {
  void it("gives the engine the same certificates as the PEM it came from, and keeps DER, not text", () => {
    const original = pem("D1_Cert_EE.pem", "D1_Issuer_ICA.pem");
    const bundle = CertificateBundle.fromBase64(base64(original), new DerPool());
    assert.deepEqual(read(bundle.pem), read(original));
    assert.equal(bundle.ders.length, 2);
    assert.equal(bundle.ders[0]?.[0], 0x30);
  });

  void it("shares the CA's certificates between Secrets, never the leaf", () => {
    const pool = new DerPool();
    const first = CertificateBundle.fromBase64(base64(pem("D1_Cert_EE.pem", "D1_Issuer_ICA.pem")), pool);
    const second = CertificateBundle.fromBase64(base64(pem("D1_Cert_EE.pem", "D1_Issuer_ICA.pem")), pool);
    assert.equal(first.ders[1], second.ders[1], "one copy of the intermediate");
    assert.notEqual(first.ders[0], second.ders[0], "each Secret keeps its own leaf");
    assert.equal(first.sha256, second.sha256);
  });

  void it("drops what the engine skips: text between blocks, a private key pasted in", () => {
    const key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
    const bundle = CertificateBundle.fromBase64(base64(`subject=CN leaf\n${key}${pem("D1_Cert_EE.pem")}`), new DerPool());
    assert.doesNotMatch(bundle.pem, /PRIVATE|MIGHAgEA|subject=/);
    assert.deepEqual(read(bundle.pem), read(pem("D1_Cert_EE.pem")));
  });

  const broken: [string, string][] = [
    ["no certificate at all", "not a certificate"],
    ["a lone private key", "-----BEGIN PRIVATE KEY-----\nMIGHAgEA\n-----END PRIVATE KEY-----\n"],
    ["a block that is not base64", "-----BEGIN CERTIFICATE-----\nMII*not base64*\n-----END CERTIFICATE-----\n"],
    ["a block that is base64 but no certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"],
    ["more certificates than a served chain has", pem(...Array.from({ length: 11 }, () => "D1_Cert_EE.pem"))],
  ];
  for (const [name, text] of broken) {
    void it(`the engine reports ${name} exactly as before`, () => {
      assert.deepEqual(read(CertificateBundle.fromBase64(base64(text), new DerPool()).pem), read(text));
    });
  }
});
