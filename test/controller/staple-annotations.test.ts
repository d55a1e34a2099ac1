// The annotations that describe a staple (src/kube/companion-secret.ts stapleAnnotations),
// on a companion or an InPlace TLS Secret: besides DESIGN.md's, what the in-cluster
// responder needs to serve it: until when (usable-until) and under which CertIDs (cert-ids).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { stapleAnnotations, type StapleToWrite } from "../../src/kube/companion-secret.ts";
import { certIdFor, certIdsFor } from "../../src/ocsp/cert-id.ts";
import { parseCertIds } from "../../src/ocsp/cert-id-text.ts";
import { verifyResponse } from "../../src/ocsp/verify.ts";
import { vector, vectorCertificate } from "../support/vectors.ts";

const O = "openssl-ocsp-tests/";
const ISSUER = vectorCertificate(`${O}ND1_Issuer_ICA.pem`);
const LEAF = vectorCertificate(`${O}ND1_Cert_EE.pem`);
const RESPONSE = verifyResponse(vector(`${O}ND1.der`), { subject: LEAF, issuer: ISSUER, at: new Date("2012-10-12T00:00:00Z") });
const STAPLE: StapleToWrite = { response: RESPONSE, responder: "http://ocsp.example/", certificateSha256: LEAF.sha256, certIds: certIdsFor(RESPONSE.serial, ISSUER) };

void describe("staple annotations", () => {
  void it("usable-until: the verified response's usableUntil, RFC 3339", () => {
    assert.equal(stapleAnnotations(STAPLE)["ocsp-stapler.io/usable-until"], RESPONSE.usableUntil.toISOString());
  });

  void it("cert-ids: the leaf's CertID under the issuer, SHA-1 then SHA-256", () => {
    const text = stapleAnnotations(STAPLE)["ocsp-stapler.io/cert-ids"];
    assert.ok(text !== undefined);
    assert.deepEqual(parseCertIds(text), [certIdFor(LEAF.serial, ISSUER, "sha1"), certIdFor(LEAF.serial, ISSUER, "sha256")]);
  });

  void it("DESIGN.md's annotations and these two, nothing else", () => {
    assert.deepEqual(Object.keys(stapleAnnotations(STAPLE)).sort(), [
      "ocsp-stapler.io/cert-ids", "ocsp-stapler.io/cert-sha256", "ocsp-stapler.io/cert-status", "ocsp-stapler.io/next-update",
      "ocsp-stapler.io/responder", "ocsp-stapler.io/serial", "ocsp-stapler.io/this-update", "ocsp-stapler.io/usable-until",
    ]);
  });
});
