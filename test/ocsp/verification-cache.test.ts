// The verification cache, with real responses from public CAs (test/fixtures/ocsp-vectors)
// judged at instants around their validity: a remembered staple is not verified again, yet
// every time check still runs, with the same codes as without the cache.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { authenticateResponse } from "../../src/ocsp/authentic-response.ts";
import type { Certificate } from "../../src/ocsp/certificate.ts";
import { isOcspError } from "../../src/ocsp/errors.ts";
import { VerificationCache, type Authenticate } from "../../src/ocsp/verification-cache.ts";
import { verifyResponse } from "../../src/ocsp/verify.ts";
import { heapAfterGc } from "../support/heap.ts";
import { vector, vectorCertificate } from "../support/vectors.ts";

interface Staple { readonly der: Uint8Array; readonly subject: Certificate; readonly issuer: Certificate }

// Let's Encrypt, issuer-signed: thisUpdate 2016-11-18T12:00Z, producedAt 12:16Z, nextUpdate 2016-11-25T12:00Z.
const RANDOMBIT: Staple = { der: vector("botan/randombit_ocsp.der"), subject: vectorCertificate("botan/randombit.pem"), issuer: vectorCertificate("botan/letsencrypt.pem") };
const RANDOMBIT_FRESH = new Date("2016-11-18T12:30:00Z");
// Botan's test chain: good 2022-09-22T10:00Z..2022-10-22T10:00Z, once answered by a delegated
// responder whose certificate ends on 2022-10-07T10:00Z, once by the issuer itself.
const MYCHAIN_EE = vectorCertificate("botan/mychain_ee.pem");
const MYCHAIN_INT = vectorCertificate("botan/mychain_int.pem");
const DELEGATED: Staple = { der: vector("botan/mychain_ocsp_for_ee_delegate_signed.der"), subject: MYCHAIN_EE, issuer: MYCHAIN_INT };
const ISSUER_SIGNED: Staple = { der: vector("botan/mychain_ocsp_for_ee.der"), subject: MYCHAIN_EE, issuer: MYCHAIN_INT };
const MYCHAIN_FRESH = new Date("2022-09-22T23:30:00Z");

/** A cache whose misses are counted: each count is one parse and signature check. */
function countingCache(maxEntries?: number): { cache: VerificationCache; misses: () => number } {
  let misses = 0;
  const authenticate: Authenticate = (der, parties) => {
    misses++;
    return authenticateResponse(der, parties);
  };
  return { cache: new VerificationCache({ authenticate, ...(maxEntries === undefined ? {} : { maxEntries }) }), misses: () => misses };
}

/** The verdict as a value: the response, or the refusal's code and message. */
function verdict(staple: Staple, at: Date, cache?: VerificationCache): unknown {
  try {
    return verifyResponse(staple.der, { subject: staple.subject, issuer: staple.issuer, at, ...(cache === undefined ? {} : { cache }) });
  } catch (error) {
    if (isOcspError(error)) return { code: error.code, message: error.message };
    throw error;
  }
}

const codeOf = (value: unknown): unknown => (typeof value === "object" && value !== null && "code" in value ? value.code : "verified");

void describe("the verification cache", () => {
  void it("verifies an unchanged staple for an unchanged leaf once, and returns the same result", () => {
    const { cache, misses } = countingCache();
    const first = verdict(RANDOMBIT, RANDOMBIT_FRESH, cache);
    const second = verdict(RANDOMBIT, RANDOMBIT_FRESH, cache);
    assert.equal(misses(), 1);
    assert.deepEqual(second, first);
    assert.deepEqual(second, verdict(RANDOMBIT, RANDOMBIT_FRESH));
  });

  void it("refuses a remembered staple that has since expired with Expired, exactly as without the cache", () => {
    const { cache, misses } = countingCache();
    verdict(RANDOMBIT, RANDOMBIT_FRESH, cache);
    const late = new Date("2016-11-28T08:30:00Z");
    const cached = verdict(RANDOMBIT, late, cache);
    assert.equal(misses(), 1, "the expiry came from the remembered answer");
    assert.equal(codeOf(cached), "Expired");
    assert.deepEqual(cached, verdict(RANDOMBIT, late));
  });

  void it("applies every time check to a remembered answer, within the 5-minute skew and beyond it", () => {
    const { cache, misses } = countingCache();
    verdict(RANDOMBIT, RANDOMBIT_FRESH, cache);
    verdict(DELEGATED, MYCHAIN_FRESH, cache);
    const cases: [Staple, string, string][] = [
      [RANDOMBIT, "2016-11-18T12:10:00Z", "NotYetValid"],
      [RANDOMBIT, "2016-11-18T12:12:00Z", "verified"],
      [RANDOMBIT, "2016-11-25T12:04:00Z", "verified"],
      [RANDOMBIT, "2016-11-25T12:06:00Z", "Expired"],
      [DELEGATED, "2022-10-07T10:04:00Z", "verified"],
      [DELEGATED, "2022-10-07T10:06:00Z", "SignerExpired"],
    ];
    for (const [staple, at, expected] of cases) {
      const cached = verdict(staple, new Date(at), cache);
      assert.equal(codeOf(cached), expected, at);
      assert.deepEqual(cached, verdict(staple, new Date(at)), `${at}: the same verdict as without the cache`);
    }
    assert.equal(misses(), 2);
  });

  void it("misses for another staple, another leaf or another issuer certificate", () => {
    const { cache, misses } = countingCache();
    verdict(DELEGATED, MYCHAIN_FRESH, cache);
    const otherLeaf = { ...DELEGATED, subject: vectorCertificate("botan/mychain_int_ocsp_delegate_responder_no_ocsp_key_usage.pem") };
    assert.equal(codeOf(verdict(otherLeaf, MYCHAIN_FRESH, cache)), "CertIDMismatch");
    assert.equal(misses(), 2, "the same staple and issuer for another leaf");
    assert.equal(codeOf(verdict(ISSUER_SIGNED, MYCHAIN_FRESH, cache)), "verified");
    assert.equal(misses(), 3, "another staple for the same leaf");

    // The same intermediate's name and key in another certificate (its signature edited, which the staple does not depend on).
    const d1 = { der: vector("openssl-ocsp-tests/D1.der"), subject: vectorCertificate("openssl-ocsp-tests/D1_Cert_EE.pem"), issuer: vectorCertificate("openssl-ocsp-tests/D1_Issuer_ICA.pem") };
    const reissued = { ...d1, issuer: vectorCertificate("openssl-ocsp-tests/ISIC_D1_Issuer_ICA.pem") };
    const at = new Date("2012-10-24T00:00:00Z");
    assert.equal(codeOf(verdict(d1, at, cache)), "verified");
    assert.equal(codeOf(verdict(reissued, at, cache)), "verified");
    assert.equal(misses(), 5, "the same staple and leaf with another issuer certificate");
  });

  void it("does not remember a refusal: a bad staple is checked again each time and takes no room", () => {
    const { cache, misses } = countingCache();
    const forged = { ...RANDOMBIT, der: vector("botan/randombit_ocsp_forged_revoked.der") };
    assert.equal(codeOf(verdict(forged, RANDOMBIT_FRESH, cache)), "UnauthorizedSigner");
    assert.equal(codeOf(verdict(forged, RANDOMBIT_FRESH, cache)), "UnauthorizedSigner");
    assert.equal(misses(), 2);
    assert.equal(cache.size, 0);
  });

  void it("keeps one staple per certificate, the last that verified: the cache grows with certificates, not refreshes", () => {
    const { cache, misses } = countingCache();
    verdict(DELEGATED, MYCHAIN_FRESH, cache);
    verdict(ISSUER_SIGNED, MYCHAIN_FRESH, cache); // the refreshed staple for the same leaf replaces the first
    assert.equal(cache.size, 1);
    verdict(ISSUER_SIGNED, MYCHAIN_FRESH, cache);
    assert.equal(misses(), 2, "the newer staple is remembered");
    verdict(DELEGATED, MYCHAIN_FRESH, cache);
    assert.equal(misses(), 3, "the older one was not kept beside it");
  });

  void it("keeps the good staple when a bad one for the same certificate is refused", () => {
    const { cache, misses } = countingCache();
    verdict(RANDOMBIT, RANDOMBIT_FRESH, cache);
    assert.equal(codeOf(verdict({ ...RANDOMBIT, der: vector("botan/randombit_ocsp_forged_revoked.der") }, RANDOMBIT_FRESH, cache)), "UnauthorizedSigner");
    verdict(RANDOMBIT, RANDOMBIT_FRESH, cache);
    assert.equal(misses(), 2);
  });

  void it("holds at most maxEntries certificates, forgetting the least recently used first", () => {
    const { cache, misses } = countingCache(2);
    const google: Staple = { der: vector("botan/resp2.der"), subject: vectorCertificate("botan/gmail.pem"), issuer: vectorCertificate("botan/google_g2.pem") };
    const googleFresh = new Date("2016-11-22T00:00:00Z");
    verdict(DELEGATED, MYCHAIN_FRESH, cache);
    verdict(google, googleFresh, cache);
    verdict(DELEGATED, MYCHAIN_FRESH, cache); // DELEGATED is now the most recently used
    verdict(RANDOMBIT, RANDOMBIT_FRESH, cache); // evicts google
    assert.equal(cache.size, 2);
    assert.equal(misses(), 3);
    verdict(DELEGATED, MYCHAIN_FRESH, cache);
    assert.equal(misses(), 3, "the recently used entry stayed");
    verdict(google, googleFresh, cache);
    assert.equal(misses(), 4, "the least recently used one was forgotten");
    assert.equal(cache.size, 2);
  });

  void it("remembers times as numbers, and no signer when the issuer signed (the caller passes the issuer at every use)", () => {
    const issuerSigned = authenticateResponse(RANDOMBIT.der, RANDOMBIT);
    const delegated = authenticateResponse(DELEGATED.der, DELEGATED);
    const dates = (value: object) => Object.entries(value).filter(([, field]) => field instanceof Date).map(([name]) => name);
    assert.deepEqual([dates(issuerSigned), issuerSigned.delegate], [[], undefined]);
    assert.deepEqual(delegated.delegate && [delegated.delegate.subject.length > 0, dates(delegated.delegate)], [true, []]);
  });

  void it("an entry costs a few hundred bytes, so the default 10,000 fit in a few MB", async () => {
    const entries = 4_000;
    const cache = new VerificationCache({ maxEntries: entries });
    // One staple for many certificates as far as the cache can tell (each its own digest), each authenticated for real.
    const subject = (i: number) => Object.create(RANDOMBIT.subject, { sha256: { value: i.toString(16).padStart(64, "0") } }) as Certificate;
    cache.authenticate(RANDOMBIT.der, { subject: subject(0), issuer: RANDOMBIT.issuer });
    const before = await heapAfterGc();
    for (let i = 1; i <= entries; i++) cache.authenticate(RANDOMBIT.der, { subject: subject(i), issuer: RANDOMBIT.issuer });
    const perEntry = ((await heapAfterGc()) - before) / entries;
    assert.equal(cache.size, entries);
    // Measured about 320 bytes (bench/cache-footprint.ts); it was 780 with Dates, the signer and hex keys.
    assert.ok(perEntry < 500, `${perEntry.toFixed(0)} bytes per entry`);
  });

  void it("refuses a bound that is not a positive integer", () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      assert.throws(() => new VerificationCache({ maxEntries }), RangeError, String(maxEntries));
    }
  });
});
