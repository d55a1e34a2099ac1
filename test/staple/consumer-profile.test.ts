// Every consumer rule against real responses: made by `openssl ocsp` for the case the rule
// is about (no nextUpdate, several SingleResponses, a short or long window, a response
// outliving the leaf, `unknown`), and taken from the shared vectors (test/fixtures/ocsp-vectors).
// Each is verified first, as the plan only ever sees verified responses.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Certificate } from "../../src/ocsp/certificate.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import type { VerifiedResponse } from "../../src/ocsp/verified-response.ts";
import { verifyResponse } from "../../src/ocsp/verify.ts";
import { consumerRejection, CONSUMERS, profilesFor, type Consumer } from "../../src/staple/consumer-profile.ts";
import { makeOfflineResponse, type OfflineResponseOptions } from "../support/offline-response.ts";
import { createRootCa, goodEntry, revokedEntry, type Issued, type TestCa } from "../support/pki.ts";
import { vector, vectorCertificate } from "../support/vectors.ts";

const certificate = (issued: Issued): Certificate => readCertificates(new TextEncoder().encode(issued.certPem), issued.subject)[0] ?? assert.fail("no certificate");

interface Judged {
  readonly response: VerifiedResponse;
  readonly leafNotAfter: Date;
  readonly now: Date;
}

/** Which consumers refuse it, and by which rule: `Consumer:Rule`, in CONSUMERS order; `-` for none. */
function refusals(judged: Judged): string[] {
  return CONSUMERS.filter((consumer) => consumer !== "Auto").map((consumer) => {
    const rejection = consumerRejection(profilesFor(consumer, []), judged.response, { leafNotAfter: judged.leafNotAfter, now: judged.now });
    return `${consumer}:${rejection?.rule ?? "-"}`;
  });
}

/** The expected `refusals`, from the consumers that refuse (by rule); every other one accepts. */
function expected(refused: Partial<Record<Exclude<Consumer, "Auto">, string>>): string[] {
  return CONSUMERS.filter((consumer) => consumer !== "Auto").map((consumer) => `${consumer}:${refused[consumer] ?? "-"}`);
}

void describe("consumer profiles: OpenSSL-made responses", () => {
  let ca: TestCa;
  let good: Issued;
  let other: Issued;
  let revoked: Issued;
  let shortLived: Issued;
  let notInIndex: Issued;
  let index: string;

  before(async () => {
    ca = await createRootCa({ name: "Consumer Profile CA", key: "p256" });
    good = await ca.issue({ commonName: "good.example", days: 90 });
    other = await ca.issue({ commonName: "other.example", days: 90 });
    revoked = await ca.issue({ commonName: "revoked.example", days: 3 });
    shortLived = await ca.issue({ commonName: "short.example", days: 3 });
    notInIndex = await ca.issue({ commonName: "unknown.example", days: 90 });
    index = await ca.writeIndex([goodEntry(good), goodEntry(other), goodEntry(shortLived), revokedEntry(revoked, new Date(Date.now() - 3_600_000), "keyCompromise")]);
  });

  async function judge(subject: Issued, options: Partial<OfflineResponseOptions> = {}): Promise<Judged> {
    const der = await makeOfflineResponse({ subject, ca, index, ...options });
    const now = new Date();
    const response = verifyResponse(der, { subject: certificate(subject), issuer: certificate(ca), at: now });
    return { response, leafNotAfter: subject.notAfter, now };
  }

  void it("a one-SingleResponse, 7-day good answer: every consumer accepts it", async () => {
    assert.deepEqual(refusals(await judge(good)), expected({}));
  });

  void it("no nextUpdate: HAProxy and Envoy (and so Istio, and Any) refuse it", async () => {
    const judged = await judge(good, { nextUpdateDays: null });
    assert.equal(judged.response.nextUpdate, undefined);
    assert.deepEqual(refusals(judged), expected({ Any: "NextUpdateRequired", HAProxy: "NextUpdateRequired", Envoy: "NextUpdateRequired", Istio: "NextUpdateRequired" }));
  });

  void it("two SingleResponses, the certificate's second: HAProxy, Envoy refuse the count, nghttpx and GnuTLS the order", async () => {
    const judged = await judge(good, { requestFor: [other, good] });
    assert.equal(judged.response.singleResponses, 2);
    assert.equal(judged.response.subjectIndex, 1);
    assert.deepEqual(refusals(judged), expected({
      Any: "SingleSingleResponse", HAProxy: "SingleSingleResponse", Envoy: "SingleSingleResponse", Istio: "SingleSingleResponse", Nghttpx: "SubjectFirst", Exim: "SubjectFirst",
    }));
  });

  void it("two SingleResponses, the certificate's first: nghttpx and GnuTLS read it; HAProxy and Envoy still refuse", async () => {
    const judged = await judge(good, { requestFor: [good, other] });
    assert.equal(judged.response.subjectIndex, 0);
    assert.deepEqual(refusals(judged), expected({ Any: "SingleSingleResponse", HAProxy: "SingleSingleResponse", Envoy: "SingleSingleResponse", Istio: "SingleSingleResponse" }));
  });

  void it("a nextUpdate under 5 minutes away: HAProxy refuses it (it must be valid at least 300 s)", async () => {
    assert.deepEqual(refusals(await judge(good, { nmin: 4 })), expected({ Any: "ValidFiveMinutes", HAProxy: "ValidFiveMinutes" }));
    assert.deepEqual(refusals(await judge(good, { nmin: 10 })), expected({}));
  });

  void it("a 30-day window: only Mozilla's 10-day cap (with Any) refuses it", async () => {
    assert.deepEqual(refusals(await judge(good, { nextUpdateDays: 30 })), expected({ Any: "MaxLifetimeTenDays" }));
  });

  void it("a good answer valid past the leaf's notAfter: Caddy refuses it; a revoked one it takes", async () => {
    assert.deepEqual(refusals(await judge(shortLived, { nextUpdateDays: 7 })), expected({ Any: "NotPastCertificate", Caddy: "NotPastCertificate" }));
    const revokedAnswer = await judge(revoked, { nextUpdateDays: 7 });
    assert.equal(revokedAnswer.response.certStatus.kind, "revoked");
    assert.deepEqual(refusals(revokedAnswer), expected({}));
  });

  void it("unknown: HAProxy refuses it (the plan never offers one: CertStatusUnknown comes first)", async () => {
    const judged = await judge(notInIndex);
    assert.equal(judged.response.certStatus.kind, "unknown");
    assert.deepEqual(refusals(judged), expected({ Any: "KnownStatus", HAProxy: "KnownStatus" }));
  });

  void it("the message names the consumer, the rule and why", async () => {
    const judged = await judge(good, { nextUpdateDays: null });
    const rejection = consumerRejection(profilesFor("Envoy", []), judged.response, { leafNotAfter: judged.leafNotAfter, now: judged.now }) ?? assert.fail("Envoy accepts it");
    assert.deepEqual({ consumer: rejection.consumer, rule: rejection.rule }, { consumer: "Envoy", rule: "NextUpdateRequired" });
    assert.match(rejection.message, /Envoy would reject it \(NextUpdateRequired\): the response has no nextUpdate/);
  });
});

void describe("consumer profiles: shared vectors", () => {
  interface Row { name: string; response: string; issuer: string; leaf: string; at: string; refused: Partial<Record<Exclude<Consumer, "Auto">, string>> }
  const ROWS: Row[] = [
    {
      name: "botan: a delegated answer without nextUpdate", response: "botan/patrickschmidt_ocsp.der", issuer: "botan/bdrive_encryption.pem", leaf: "botan/patrickschmidt.pem", at: "2019-05-28T07:30:00Z",
      refused: { Any: "NextUpdateRequired", HAProxy: "NextUpdateRequired", Envoy: "NextUpdateRequired", Istio: "NextUpdateRequired" },
    },
    {
      name: "OpenSSL D2: GlobalSign's 6-month window", response: "openssl-ocsp-tests/D2.der", issuer: "openssl-ocsp-tests/D2_Issuer_Root.pem", leaf: "openssl-ocsp-tests/D2_Cert_ICA.pem", at: "2012-10-24T00:00:00Z",
      refused: { Any: "MaxLifetimeTenDays" },
    },
    {
      name: "OpenSSL ND1: COMODO's 4-day window", response: "openssl-ocsp-tests/ND1.der", issuer: "openssl-ocsp-tests/ND1_Issuer_ICA.pem", leaf: "openssl-ocsp-tests/ND1_Cert_EE.pem", at: "2012-10-12T00:00:00Z",
      refused: {},
    },
    {
      name: "aws-lc: unknown", response: "aws-lc-s2n/ocsp_response_unknown.der", issuer: "aws-lc-s2n/ca_cert.pem", leaf: "aws-lc-s2n/rsa_cert.pem", at: "2021-07-01T00:00:00Z",
      refused: { Any: "KnownStatus", HAProxy: "KnownStatus" },
    },
  ];
  for (const row of ROWS) {
    void it(row.name, () => {
      const leaf = vectorCertificate(row.leaf);
      const now = new Date(row.at);
      const response = verifyResponse(vector(row.response), { subject: leaf, issuer: vectorCertificate(row.issuer), at: now });
      assert.deepEqual(refusals({ response, leafNotAfter: leaf.notAfter, now }), expected(row.refused));
    });
  }
});

void describe("consumer profiles: which apply", () => {
  const names = (consumer: Consumer, keys: readonly string[]) => profilesFor(consumer, keys).map((profile) => profile.name);
  void it("Auto derives them from the keys; a key several consumers read gets each one's", () => {
    assert.deepEqual(names("Auto", ["tls.ocsp"]), ["Nginx", "HAProxy"]);
    assert.deepEqual(names("Auto", ["tls.ocsp-staple"]), ["Istio"]);
    assert.deepEqual(names("Auto", ["ocsp.staple", "tls.ocsp-resp"]), ["Envoy", "Nghttpx"]);
    assert.deepEqual(names("Auto", ["ocsp.der"]), []);
  });
  void it("a named consumer wins over the keys; Any is every profile and Mozilla's", () => {
    assert.deepEqual(names("Envoy", ["tls.ocsp"]), ["Envoy"]);
    assert.deepEqual(names("Any", []), ["Nginx", "HAProxy", "Envoy", "Istio", "Nghttpx", "Exim", "Caddy", "Mozilla"]);
  });
  void it("chain: Full adds Exim's, the reader of the bundle, to Auto's; a named consumer stays alone", () => {
    assert.deepEqual(profilesFor("Auto", ["tls.ocsp"], "Full").map((profile) => profile.name), ["Nginx", "HAProxy", "Exim"]);
    assert.deepEqual(profilesFor("Auto", ["ocsp.der"], "Full").map((profile) => profile.name), ["Exim"]);
    assert.deepEqual(profilesFor("Envoy", ["ocsp.staple"], "Full").map((profile) => profile.name), ["Envoy"]);
  });
});
