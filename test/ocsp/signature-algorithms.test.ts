// Every signature algorithm the engine accepts, each in a response that OpenSSL
// itself signed, issuer-signed and through a delegated responder. The keys are
// generated fresh by OpenSSL for every run.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import type { Certificate } from "../../src/ocsp/certificate.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { parseResponse } from "../../src/ocsp/response-parser.ts";
import { algorithmName } from "../../src/ocsp/signature.ts";
import { verifyResponse } from "../../src/ocsp/verify.ts";
import { makeOfflineResponse } from "../support/offline-response.ts";
import { createRootCa, goodEntry, type KeyKind, type TestCa } from "../support/pki.ts";

const ALGORITHMS: { key: KeyKind; signature: string; digest?: string }[] = [
  { key: "rsa2048", signature: "sha256WithRSA" },
  { key: "rsa2048", signature: "sha1WithRSA", digest: "sha1" },
  { key: "rsa-pss", signature: "rsassaPss" },
  { key: "p256", signature: "ecdsaWithSha256" },
  { key: "p384", signature: "ecdsaWithSha384", digest: "sha384" },
  { key: "p521", signature: "ecdsaWithSha512", digest: "sha512" },
  { key: "ed25519", signature: "ed25519" },
];

const certificate = (pem: string): Certificate => {
  const [first] = readCertificates(pem, "test certificate");
  assert.ok(first);
  return first;
};

void describe("signature algorithms, signed by OpenSSL", () => {
  const cas: TestCa[] = [];
  after(async () => { await Promise.all(cas.map((ca) => ca.cleanup())); });

  for (const algorithm of ALGORITHMS) {
    const label = `${algorithm.key} (${algorithm.signature})`;

    void it(`${label}: issuer-signed and delegated responses verify`, async () => {
      const ca = await createRootCa({ name: `alg-${algorithm.key}`, key: algorithm.key });
      cas.push(ca);
      const leaf = await ca.issue({ commonName: "leaf.example" });
      const delegate = await ca.issueResponder({ commonName: "responder", key: algorithm.key });
      const index = await ca.writeIndex([goodEntry(leaf)]);
      const subject = certificate(leaf.certPem);
      const issuer = certificate(ca.certPem);
      const at = new Date();

      const bySelf = await makeOfflineResponse({ subject: leaf, ca, index, noCerts: true, ...(algorithm.digest === undefined ? {} : { digest: algorithm.digest }) });
      assert.equal(algorithmName(parseResponse(bySelf).signatureAlgorithm), algorithm.signature);
      const selfVerified = verifyResponse(bySelf, { subject, issuer, at });
      assert.deepEqual([selfVerified.certStatus.kind, selfVerified.signer.kind], ["good", "issuer"]);

      const byDelegate = await makeOfflineResponse({ subject: leaf, ca, index, signer: delegate, ...(algorithm.digest === undefined ? {} : { digest: algorithm.digest }) });
      const delegateVerified = verifyResponse(byDelegate, { subject, issuer, at });
      assert.deepEqual([delegateVerified.certStatus.kind, delegateVerified.signer.kind], ["good", "delegated"]);
      assert.equal(delegateVerified.usableUntil.getTime(), Math.min(delegateVerified.nextUpdate?.getTime() ?? Infinity, delegate.notAfter.getTime(), leaf.notAfter.getTime()));
    });
  }
});
