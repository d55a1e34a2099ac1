import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { certIdFor } from "../../src/ocsp/cert-id.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { encodeRequest } from "../../src/ocsp/request.ts";
import { parseRequest } from "../../src/ocsp/request-parser.ts";
import { decodeDer } from "../../src/ocsp/asn1-walk.ts";
import { createRootCa } from "../support/pki.ts";

void describe("parseRequest reads the CertIDs of an OCSPRequest, and nothing it is handed can make it throw", () => {
  void it("reads back what the engine's own encoder wrote, nonce or not, SHA-1 or SHA-256", async () => {
    const ca = await createRootCa({ name: "Request Parser CA", key: "p256" });
    try {
      const [issuer] = readCertificates(ca.certPem, "CA");
      if (issuer === undefined) return assert.fail("no CA certificate");
      for (const hash of ["sha1", "sha256"] as const) {
        const certId = certIdFor("0a1b2c", issuer, hash);
        for (const withNonce of [false, true]) {
          const parsed = parseRequest(encodeRequest(certId, { withNonce }).der) ?? assert.fail("the request did not parse");
          assert.equal(parsed.hasNonce, withNonce);
          const [only, ...more] = parsed.certIds;
          assert.equal(more.length, 0);
          assert.equal(only?.serial, "0a1b2c");
          assert.deepEqual(Buffer.from(only.issuerKeyHash), Buffer.from(certId.issuerKeyHash));
        }
      }
    } finally {
      await ca.cleanup();
    }
  });

  void it("random bytes are undefined (malformedRequest), never an exception", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 700 }), (bytes) => { parseRequest(bytes); }), { numRuns: 5_000 });
  });

  void it("a GeneralizedTime asn1js cannot read is MalformedResponse from decodeDer, not asn1js's plain Error", () => {
    // 0x18 = GeneralizedTime, content "2026.x" (a fraction asn1js throws on).
    const bad = Buffer.concat([Buffer.from([0x18, 6]), Buffer.from("2026.x")]);
    assert.throws(() => decodeDer(bad, "probe"), (error: unknown) => (error as { code?: string }).code === "MalformedResponse");
  });
});
