// isOcspResponse: what src/kube asks to tell a staple from other bytes in a TLS Secret,
// on real responses and on bytes that are not one.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { isOcspResponse } from "../../src/ocsp/is-ocsp-response.ts";
import { vector, vectorCertificate } from "../support/vectors.ts";

void describe("isOcspResponse", () => {
  const responses: [string, string][] = [
    ["a good answer", "botan/randombit_ocsp.der"],
    ["a revoked answer", "aws-lc-s2n/ocsp_response_revoked.der"],
    ["an unknown answer", "aws-lc-s2n/ocsp_response_unknown.der"],
    ["a forged answer (nothing is verified)", "botan/randombit_ocsp_forged_revoked.der"],
  ];
  for (const [name, path] of responses) {
    void it(`${name}: yes`, () => {
      assert.equal(isOcspResponse(vector(path)), true);
    });
  }

  const others: [string, () => Uint8Array][] = [
    ["a responder's tryLater (never stapled)", () => vector("rustcrypto-x509-ocsp/ocsp-try-later.der")],
    ["a truncated response", () => vector("botan/randombit_ocsp.der").subarray(0, 100)],
    ["a certificate", () => vectorCertificate("botan/randombit.pem").der],
    ["PEM text", () => vector("botan/randombit.pem")],
    ["random bytes", () => new Uint8Array(randomBytes(300))],
    ["nothing", () => new Uint8Array()],
  ];
  for (const [name, bytes] of others) {
    void it(`${name}: no`, () => {
      assert.equal(isOcspResponse(bytes()), false);
    });
  }
});
