import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ocspBundlePem, parseOcspBundle } from "./ocsp-bundle.ts";

void describe("the OCSP PEM bundle", () => {
  const first = Uint8Array.from({ length: 100 }, (_, i) => i);
  const second = Uint8Array.from([0x30, 0x03, 0x0a, 0x01, 0x01]);

  void it("is one OCSP RESPONSE block per response, in order, 64 base64 characters a line", () => {
    const pem = ocspBundlePem([first, second]);
    assert.equal(pem.match(/^-----BEGIN OCSP RESPONSE-----$/gm)?.length, 2);
    assert.equal(pem.match(/^-----END OCSP RESPONSE-----$/gm)?.length, 2);
    assert.ok(pem.split("\n").every((line) => line.length <= 64 || line.startsWith("-----")));
    assert.ok(pem.endsWith("-----END OCSP RESPONSE-----\n"));
  });

  void it("reads back the same DER, ignoring text around the blocks", () => {
    const parsed = parseOcspBundle(`leading text\n${ocspBundlePem([first, second])}trailing\r\n`);
    assert.deepEqual(parsed.map((der) => [...der]), [[...first], [...second]]);
    assert.deepEqual(parseOcspBundle(""), []);
  });
});
