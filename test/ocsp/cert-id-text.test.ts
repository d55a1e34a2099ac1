// CertIDs as the `ocsp-stapler.io/cert-ids` annotation writes them (src/ocsp/cert-id-text.ts):
// the leaf's CertID under SHA-1 and SHA-256, read back by the in-cluster responder, which
// must never trip over an annotation someone edited.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { certIdFor, certIdsFor, type CertId } from "../../src/ocsp/cert-id.ts";
import { formatCertIds, parseCertIds } from "../../src/ocsp/cert-id-text.ts";
import { vectorCertificate } from "../support/vectors.ts";

const ISSUER = vectorCertificate("openssl-ocsp-tests/ND1_Issuer_ICA.pem");
const SERIAL = "0a1b2c";
const SHA1 = "sha1:" + "ab".repeat(20) + ":" + "cd".repeat(20) + ":" + SERIAL;
const SHA256 = "sha256:" + "ab".repeat(32) + ":" + "cd".repeat(32) + ":" + SERIAL;

void describe("CertIDs as annotation text", () => {
  void it("writes <hash>:<issuerNameHash>:<issuerKeyHash>:<serial>, SHA-1 then SHA-256, in lowercase hex", () => {
    const ids = certIdsFor(SERIAL, ISSUER);
    const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
    const [sha1, sha256] = [certIdFor(SERIAL, ISSUER, "sha1"), certIdFor(SERIAL, ISSUER, "sha256")];
    assert.equal(formatCertIds(ids), `sha1:${hex(sha1.issuerNameHash)}:${hex(sha1.issuerKeyHash)}:${SERIAL},sha256:${hex(sha256.issuerNameHash)}:${hex(sha256.issuerKeyHash)}:${SERIAL}`);
  });

  void it("reads back exactly what it wrote", () => {
    const ids = certIdsFor(SERIAL, ISSUER);
    assert.deepEqual(parseCertIds(formatCertIds(ids)), ids);
    assert.deepEqual(parseCertIds(formatCertIds([])), []);
    const one: CertId = { hashAlgorithm: "sha512", issuerNameHash: new Uint8Array(64).fill(1), issuerKeyHash: new Uint8Array(64).fill(2), serial: "00" };
    assert.deepEqual(parseCertIds(formatCertIds([one])), [one]);
  });

  void it("skips a malformed entry and keeps the others, and never throws", () => {
    const bad = [
      "", ",", "sha1", "sha1:ab:cd", `${SHA1}:extra`,
      `md5:${"ab".repeat(16)}:${"cd".repeat(16)}:01`, // unknown hash
      `SHA1:${"ab".repeat(20)}:${"cd".repeat(20)}:01`, // names are lowercase
      `sha1:${"ab".repeat(19)}:${"cd".repeat(20)}:01`, // a name hash too short
      `sha1:${"ab".repeat(20)}:${"cd".repeat(32)}:01`, // a key hash of another algorithm
      `sha1:${"AB".repeat(20)}:${"cd".repeat(20)}:01`, // uppercase hex
      `sha1:${"zz".repeat(20)}:${"cd".repeat(20)}:01`, // not hex
      `sha1:${"ab".repeat(20)}:${"cd".repeat(20)}:`, // no serial
      `sha1:${"ab".repeat(20)}:${"cd".repeat(20)}:abc`, // half a byte
      `sha1:${"ab".repeat(20)}:${"cd".repeat(20)}:00ab`, // a leading zero byte: never a request's serial
      "constructor:ab:cd:01", "__proto__:ab:cd:01", "toString:ab:cd:01",
    ];
    for (const text of bad) assert.deepEqual(parseCertIds(text), [], JSON.stringify(text));
    const parsed = parseCertIds([bad[5], SHA1, bad[7], SHA256, bad[13]].join(","));
    assert.deepEqual(parsed.map((id) => id.hashAlgorithm), ["sha1", "sha256"]);
    assert.equal(parseCertIds(` ${SHA1} , ${SHA256}`).length, 2);
  });
});
