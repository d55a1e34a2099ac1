// The cheap read of a certificate's OCSP URL agrees with the engine's full parse
// (on real certificates from the shared vectors), and is undefined for what has none.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ocspUrlHint } from "../../src/ocsp/ocsp-url-hint.ts";
import { vectorCertificate } from "../support/vectors.ts";

void describe("ocspUrlHint", () => {
  for (const path of ["botan/gmail.pem", "botan/google_g2.pem", "botan/letsencrypt.pem", "botan/randombit.pem"]) {
    void it(`reads the engine's first OCSP URL from ${path}`, () => {
      const certificate = vectorCertificate(path);
      assert.ok(certificate.ocspUrls[0] !== undefined, `${path} names a responder`);
      assert.equal(ocspUrlHint(certificate.der), certificate.ocspUrls[0]);
    });
  }

  void it("is undefined for a certificate without an OCSP URL", () => {
    const root = vectorCertificate("botan/mychain_root.pem");
    assert.deepEqual([root.ocspUrls, ocspUrlHint(root.der)], [[], undefined]);
  });

  void it("is undefined for bytes that are not a certificate", () => {
    assert.equal(ocspUrlHint(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])), undefined);
    assert.equal(ocspUrlHint(new Uint8Array()), undefined);
  });
});
