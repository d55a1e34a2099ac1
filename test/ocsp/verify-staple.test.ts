// The engine's entry point for "is this staple valid for this chain now?", with a real
// Let's Encrypt staple: where the issuer comes from, that a given issuer is not searched
// for again, the coded refusals, and the cache.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authenticateResponse } from "../../src/ocsp/authentic-response.ts";
import type { Certificate } from "../../src/ocsp/certificate.ts";
import type { Chain } from "../../src/ocsp/chain.ts";
import { isOcspError } from "../../src/ocsp/errors.ts";
import { VerificationCache } from "../../src/ocsp/verification-cache.ts";
import { verifyStaple, type StapleVerification } from "../../src/ocsp/verify-staple.ts";
import { vector, vectorCertificate } from "../support/vectors.ts";

// Good 2016-11-18T12:00Z..2016-11-25T12:00Z, signed by Let's Encrypt Authority X3 itself.
const STAPLE = vector("botan/randombit_ocsp.der");
const LEAF = vectorCertificate("botan/randombit.pem");
const INTERMEDIATE = vectorCertificate("botan/letsencrypt.pem");
const NOT_THE_ISSUER = vectorCertificate("botan/identrust.pem");
const FRESH = new Date("2016-11-18T12:30:00Z");

const chainOf = (intermediates: Certificate[] = [], extraCas: Certificate[] = []): Chain => ({ leaf: LEAF, intermediates, extraCas });
const rejectsWith = (code: string) => (error: unknown) => isOcspError(error) && error.code === code;
const noDownload = (url: string): Promise<Certificate[]> => Promise.reject(new Error(`nothing may be downloaded (asked for ${url})`));

void describe("verifyStaple", () => {
  const sources: [string, Partial<StapleVerification>, string][] = [
    ["the next certificate in the chain", { chain: chainOf([INTERMEDIATE]), download: noDownload }, "chain"],
    ["ca.crt", { chain: chainOf([], [INTERMEDIATE]), download: noDownload }, "ca.crt"],
    ["an explicit issuer", { chain: chainOf(), explicitIssuers: [INTERMEDIATE], download: noDownload }, "explicit"],
    ["the AIA caIssuers download", { chain: chainOf(), download: () => Promise.resolve([INTERMEDIATE]) }, "aia"],
  ];
  for (const [name, options, source] of sources) {
    void it(`finds the issuer in ${name} and verifies the staple against it`, async () => {
      const verified = await verifyStaple(STAPLE, { chain: chainOf(), ...options, at: FRESH });
      assert.equal(verified.issuer.source, source);
      assert.equal(verified.issuer.certificate.sha256, INTERMEDIATE.sha256);
      assert.equal(verified.response.certStatus.kind, "good");
      assert.equal(verified.response.serial, LEAF.serial);
      assert.deepEqual(verified.response.der, STAPLE);
    });
  }

  void it("downloads from the leaf's caIssuers URL only when nothing local fits", async () => {
    const asked: string[] = [];
    const download = (url: string) => { asked.push(url); return Promise.resolve([INTERMEDIATE]); };
    await verifyStaple(STAPLE, { chain: chainOf([INTERMEDIATE]), download, at: FRESH });
    assert.deepEqual(asked, []);
    await verifyStaple(STAPLE, { chain: chainOf(), download, at: FRESH });
    assert.deepEqual(asked, ["http://cert.int-x3.letsencrypt.org/"]);
  });

  void it("uses an issuer the caller already found, without searching for it again", async () => {
    const verified = await verifyStaple(STAPLE, { chain: chainOf(), issuer: { certificate: INTERMEDIATE, source: "aia" }, download: noDownload, at: FRESH });
    assert.deepEqual([verified.issuer.source, verified.response.certStatus.kind], ["aia", "good"]);
  });

  void it("refuses with NoIssuer when no issuer is found, and downloads nothing without a download", async () => {
    await assert.rejects(verifyStaple(STAPLE, { chain: chainOf([NOT_THE_ISSUER]), at: FRESH }), rejectsWith("NoIssuer"));
    await assert.rejects(verifyStaple(STAPLE, { chain: chainOf(), explicitIssuers: [NOT_THE_ISSUER], at: FRESH }), rejectsWith("NoIssuer"));
  });

  void it("refuses a staple with the engine's codes: expired, not yet valid, for a chain whose issuer did not sign it", async () => {
    const chain = chainOf([INTERMEDIATE]);
    await assert.rejects(verifyStaple(STAPLE, { chain, at: new Date("2016-11-28T00:00:00Z") }), rejectsWith("Expired"));
    await assert.rejects(verifyStaple(STAPLE, { chain, at: new Date("2016-11-17T00:00:00Z") }), rejectsWith("NotYetValid"));
    const otherLeaf = { ...chain, leaf: vectorCertificate("botan/gmail.pem"), intermediates: [vectorCertificate("botan/google_g2.pem")] };
    await assert.rejects(verifyStaple(STAPLE, { chain: otherLeaf, at: FRESH }), rejectsWith("UnauthorizedSigner"));
  });

  void it("goes through the cache when given one: verified once, judged at every call", async () => {
    let authentications = 0;
    const cache = new VerificationCache({ authenticate: (der, parties) => { authentications++; return authenticateResponse(der, parties); } });
    const chain = chainOf([INTERMEDIATE]);
    const first = await verifyStaple(STAPLE, { chain, at: FRESH, cache });
    const again = await verifyStaple(STAPLE, { chain, at: FRESH, cache });
    assert.deepEqual(again, first);
    await assert.rejects(verifyStaple(STAPLE, { chain, at: new Date("2016-11-28T00:00:00Z"), cache }), rejectsWith("Expired"));
    assert.equal(authentications, 1);
  });
});
