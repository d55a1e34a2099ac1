// Property tests: whatever the bytes, the engine answers with an OcspError or a
// verified response, never another exception, and it never accepts a response whose
// signed part or signature differs from what the responder signed.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bytesEqual } from "../../src/ocsp/bytes.ts";
import { isOcspError } from "../../src/ocsp/errors.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { parseResponse } from "../../src/ocsp/response-parser.ts";
import { verifyResponse } from "../../src/ocsp/verify.ts";

const ROOT = new URL("../fixtures/ocsp-vectors/", import.meta.url);
const read = (path: string): Uint8Array => new Uint8Array(readFileSync(new URL(path, ROOT)));
const cert = (path: string) => {
  const [first] = readCertificates(read(path), path);
  assert.ok(first);
  return first;
};

/** Valid responses of each shape: RSA issuer-signed, ECDSA issuer-signed, RSA delegated with an embedded responder. */
const BASES = [
  { name: "RSA, issuer-signed (Google)", der: read("botan/resp2.der"), subject: cert("botan/gmail.pem"), issuer: cert("botan/google_g2.pem"), at: new Date("2016-11-22T00:00:00Z") },
  { name: "ECDSA P-256, issuer-signed", der: read("botan/contrarian_good-issuer.der"), subject: cert("botan/contrarian_subject.pem"), issuer: cert("botan/contrarian_issuer.pem"), at: new Date("2025-01-01T00:00:00Z") },
  { name: "RSA, delegated (GlobalSign)", der: read("openssl-ocsp-tests/D1.der"), subject: cert("openssl-ocsp-tests/D1_Cert_EE.pem"), issuer: cert("openssl-ocsp-tests/D1_Issuer_ICA.pem"), at: new Date("2012-10-24T00:00:00Z") },
];

type Mutation = { kind: "flip"; at: number; mask: number } | { kind: "truncate"; at: number } | { kind: "insert"; at: number; bytes: Uint8Array } | { kind: "delete"; at: number; count: number } | { kind: "set"; at: number; value: number };

function mutationArbitrary(length: number): fc.Arbitrary<Mutation> {
  const at = fc.nat({ max: length - 1 });
  return fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at, mask: fc.integer({ min: 1, max: 255 }) }),
    fc.record({ kind: fc.constant("truncate" as const), at }),
    fc.record({ kind: fc.constant("insert" as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    fc.record({ kind: fc.constant("delete" as const), at, count: fc.integer({ min: 1, max: 8 }) }),
    // Length and tag bytes are where parsers break: try the boundary values.
    fc.record({ kind: fc.constant("set" as const), at, value: fc.constantFrom(0x00, 0x7f, 0x80, 0x81, 0x82, 0x84, 0xff) }),
  );
}

function mutate(original: Uint8Array, mutation: Mutation): Uint8Array {
  const bytes = Array.from(original);
  switch (mutation.kind) {
    case "flip": bytes[mutation.at] = (bytes[mutation.at] ?? 0) ^ mutation.mask; break;
    case "set": bytes[mutation.at] = mutation.value; break;
    case "truncate": bytes.length = mutation.at; break;
    case "insert": bytes.splice(mutation.at, 0, ...mutation.bytes); break;
    case "delete": bytes.splice(mutation.at, mutation.count); break;
  }
  return Uint8Array.from(bytes);
}

void describe("mutated responses", () => {
  for (const base of BASES) {
    const signed = parseResponse(base.der);

    void it(`${base.name}: the original verifies (so rejections below are the mutation's doing)`, () => {
      assert.equal(verifyResponse(base.der, base).certStatus.kind, "good");
    });

    void it(`${base.name}: never throws anything but OcspError, never accepts a changed signed part`, () => {
      let rejected = 0;
      fc.assert(
        fc.property(fc.array(mutationArbitrary(base.der.length), { minLength: 1, maxLength: 3 }), (mutations) => {
          const mutated = mutations.reduce(mutate, base.der);
          if (bytesEqual(mutated, base.der)) return;
          try {
            verifyResponse(mutated, base);
          } catch (error) {
            if (!isOcspError(error)) throw error;
            rejected++;
            return;
          }
          // Accepted: only an unsigned wrapper may have changed, never what the responder signed.
          const accepted = parseResponse(mutated);
          assert.ok(bytesEqual(accepted.tbsDer, signed.tbsDer), "accepted a response with altered tbsResponseData");
          assert.ok(bytesEqual(accepted.signature, signed.signature), "accepted a response with an altered signature");
        }),
        { numRuns: 1500, seed: 0x0c5b },
      );
      assert.ok(rejected > 1000, `only ${rejected} of 1500 mutations were rejected`);
    });
  }

  void it("random bytes are MalformedResponse (or a responder status), never a crash", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), (bytes) => {
        assert.throws(() => parseResponse(bytes), (error) => isOcspError(error));
      }),
      { numRuns: 2000 },
    );
  });
});
