/**
 * Self-test of the throwaway PKI: every key kind signs, certificates carry
 * the extensions, serials and exact dates asked for, and the index is in the
 * byte format `openssl ocsp -index` reads.
 */
import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { createRootCa, goodEntry, indexLine, indexSerial, revokedEntry, type KeyKind, type TestCa } from "./pki.ts";
import { runOpenssl } from "./pki-openssl.ts";

const SIGNATURE_ALGORITHMS: Readonly<Record<KeyKind, string>> = {
  rsa2048: "sha256WithRSAEncryption",
  "rsa-pss": "rsassaPss",
  p256: "ecdsa-with-SHA256",
  p384: "ecdsa-with-SHA384",
  p521: "ecdsa-with-SHA512",
  ed25519: "ED25519",
};

void describe("test PKI", () => {
  let ca: TestCa | undefined;
  before(async () => { ca = await createRootCa({ name: "PKI Self-Test Root", key: "p256" }); });
  after(() => ca?.cleanup());

  void it("builds a root and a leaf for every key kind, each verifying", async () => {
    const kinds = Object.keys(SIGNATURE_ALGORITHMS) as KeyKind[];
    await Promise.all(kinds.map(async (key) => {
      const root = await createRootCa({ name: `Root ${key}`, key });
      try {
        const leaf = await root.issue({ commonName: `leaf-${key}`, key });
        const rootX509 = new X509Certificate(root.certPem);
        const leafX509 = new X509Certificate(leaf.certPem);
        assert.equal(leafX509.signatureAlgorithm, SIGNATURE_ALGORITHMS[key], key);
        assert.ok(rootX509.ca && rootX509.verify(rootX509.publicKey), `${key} root is self-signed`);
        assert.ok(leafX509.verify(rootX509.publicKey) && leafX509.checkIssued(rootX509), `${key} leaf verifies`);
        assert.ok(leafX509.checkPrivateKey(createPrivateKey(leaf.keyPem)), `${key} key matches`);
      } finally {
        await root.cleanup();
      }
    }));
  });

  void it("issues a leaf with AIA, SAN, must-staple, the serial and the exact dates asked for", async () => {
    const notBefore = new Date("2024-02-03T04:05:06Z");
    const notAfter = new Date("2051-06-07T08:09:10Z");
    const leaf = await (ca as TestCa).issue({
      commonName: "www.test", ocspUrl: "http://127.0.0.1:9/", caIssuersUrl: "http://127.0.0.1:9/ca.der",
      mustStaple: true, san: ["DNS:www.test"], serialHex: "00ABCdef01", notBefore, notAfter,
    });
    const x509 = new X509Certificate(leaf.certPem);
    assert.equal(leaf.serialHex, "abcdef01");
    assert.equal(x509.serialNumber.toLowerCase().replace(/^0+/, ""), "abcdef01");
    assert.equal(x509.validFromDate.getTime(), notBefore.getTime());
    assert.equal(x509.validToDate.getTime(), notAfter.getTime(), "GeneralizedTime from 2050 on");
    assert.deepEqual([leaf.notBefore, leaf.notAfter], [notBefore, notAfter]);
    assert.equal(x509.infoAccess, "OCSP - URI:http://127.0.0.1:9/\nCA Issuers - URI:http://127.0.0.1:9/ca.der");
    assert.equal(x509.subjectAltName, "DNS:www.test");
    assert.equal(x509.ca, false);
    assert.deepEqual(x509.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
    const text = await extensionText(leaf.certPath, "tlsfeature");
    assert.match(text, /status_request/);
  });

  void it("issues delegated responders with and without id-kp-OCSPSigning, expired ones included", async () => {
    const good = await (ca as TestCa).issueResponder({ commonName: "Delegate" });
    const noEku = await (ca as TestCa).issueResponder({ commonName: "No EKU", ocspSigning: false });
    const expired = await (ca as TestCa).issueResponder({ commonName: "Old", notBefore: new Date("2020-01-01T00:00:00Z"), days: 10 });
    assert.deepEqual(new X509Certificate(good.certPem).keyUsage, ["1.3.6.1.5.5.7.3.9"]);
    assert.match(await extensionText(good.certPath, "noCheck"), /OCSP No Check/);
    assert.equal(new X509Certificate(noEku.certPem).keyUsage, undefined);
    assert.doesNotMatch(await extensionText(noEku.certPath, "noCheck"), /OCSP No Check/);
    assert.equal(new X509Certificate(expired.certPem).validToDate.toISOString(), "2020-01-11T00:00:00.000Z");
  });

  void it("issues an intermediate that carries its own OCSP URL and issues in turn", async () => {
    const intermediate = await (ca as TestCa).issueIntermediate({ name: "Issuing CA 1", ocspUrl: "http://127.0.0.1:9/root" });
    const leaf = await intermediate.issue({ commonName: "deep.test" });
    const x509 = new X509Certificate(intermediate.certPem);
    assert.ok(x509.ca && x509.checkIssued(new X509Certificate((ca as TestCa).certPem)));
    assert.equal(x509.infoAccess, "OCSP - URI:http://127.0.0.1:9/root");
    assert.equal(intermediate.keyKind, "p256");
    const verify = await runOpenssl(["verify", "-CAfile", (ca as TestCa).certPath, "-untrusted", intermediate.certPath, leaf.certPath]);
    assert.match(verify.stdout, /: OK/);
  });

  void it("writes the index openssl reads: flag, expiry, revocation[,reason], serial, 'unknown', subject", () => {
    const expires = new Date("2030-01-02T03:04:05Z");
    assert.equal(indexLine({ serialHex: "0abc", status: "good", expires, subject: "/CN=a" }), "V\t300102030405Z\t\t0ABC\tunknown\t/CN=a\n");
    assert.equal(
      indexLine({ serialHex: "1F", status: "revoked", revokedAt: new Date("2025-03-01T12:00:00Z"), reason: "superseded", expires, subject: "/CN=b" }),
      "R\t300102030405Z\t250301120000Z,superseded\t1F\tunknown\t/CN=b\n",
    );
    assert.equal(indexLine({ serialHex: "1", status: "good", expires: new Date("2050-01-01T00:00:00Z"), subject: "/CN=c" }), "V\t20500101000000Z\t\t01\tunknown\t/CN=c\n");
    assert.deepEqual(["0", "000", "abc", "00ff", "80"].map(indexSerial), ["00", "00", "0ABC", "FF", "80"]);
  });

  void it("moves the index mtime to a new second on every rewrite, so openssl notices", async () => {
    const leaf = await (ca as TestCa).issue({ commonName: "indexed.test" });
    const path = await (ca as TestCa).writeIndex([goodEntry(leaf)]);
    const first = (await stat(path)).mtimeMs;
    await (ca as TestCa).writeIndex([revokedEntry(leaf, new Date("2025-01-01T00:00:00Z"))]);
    assert.ok((await stat(path)).mtimeMs >= first + 1000);
    assert.equal(await readFile(`${path}.attr`, "utf8"), "unique_subject = no\n");
    assert.match(await readFile(path, "utf8"), /^R\t\d{12}Z\t250101000000Z\t[0-9A-F]+\tunknown\t\/CN=indexed\.test\n$/);
  });
});

async function extensionText(certPath: string, name: string): Promise<string> {
  return (await runOpenssl(["x509", "-in", certPath, "-noout", "-ext", name])).stdout;
}
