/**
 * Self-test of the real-responder fixture: `openssl ocsp` answers good,
 * revoked and unknown from the index, signs as the issuer or a delegate,
 * picks up index changes, answers RFC 6960 GETs, and survives the empty
 * connections that would otherwise wedge it.
 */
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import { startOpensslResponder, type OpensslResponder } from "./openssl-responder.ts";
import { createRootCa, goodEntry, revokedEntry, type Issued, type TestCa } from "./pki.ts";
import { getPath, ocspRequestDer, opensslQuery, type CertIdDigest } from "./pki-ocsp-client.ts";

const REVOKED_AT = new Date("2025-03-01T12:00:00Z");

interface Setup {
  readonly ca: TestCa;
  readonly responder: OpensslResponder;
  readonly good: Issued;
  readonly revoked: Issued;
}

/** A CA, a responder for it (started first: leaves need its URL), a good and a revoked leaf. */
async function setUp(name: string, key: "rsa2048" | "p256" | "rsa-pss"): Promise<Setup> {
  const ca = await createRootCa({ name, key });
  const indexPath = await ca.writeIndex([]);
  const responder = await startOpensslResponder({ ca, indexPath, nmin: 60 });
  const [good, revoked] = await Promise.all([
    ca.issue({ commonName: "good.test", ocspUrl: responder.url, mustStaple: true }),
    ca.issue({ commonName: "revoked.test", ocspUrl: responder.url }),
  ]);
  await responder.updateIndex([goodEntry(good), revokedEntry(revoked, REVOKED_AT, "keyCompromise")]);
  return { ca, responder, good, revoked };
}

async function tearDown(setup: Setup | undefined): Promise<void> {
  await setup?.responder.stop();
  await setup?.ca.cleanup();
}

for (const key of ["rsa2048", "p256", "rsa-pss"] as const) {
  void describe(`openssl ocsp responder, ${key} CA signing its own responses`, () => {
    let s: Setup | undefined;
    before(async () => { s = await setUp(`Root ${key}`, key); });
    after(() => tearDown(s));

    void it("answers good, revoked (with reason) and unknown, each verifying against the CA", async () => {
      const { ca, responder, good, revoked } = s as Setup;
      const [g, r, u] = await Promise.all([
        opensslQuery({ issuer: ca, cert: good, url: responder.url }),
        opensslQuery({ issuer: ca, cert: revoked, url: responder.url }),
        opensslQuery({ issuer: ca, serialHex: "7777", url: responder.url }),
      ]);
      assert.deepEqual([g.status, r.status, u.status], ["good", "revoked", "unknown"], g.stderr + r.stderr + u.stderr);
      assert.equal(r.revocationReason, "keyCompromise");
      assert.ok(g.verified && r.verified && u.verified, `${g.stderr}${await responder.log()}`);
    });
  });
}

void describe("openssl ocsp responder, P-256 CA with delegates", () => {
  let s: Setup | undefined;
  let delegate: Issued | undefined;
  before(async () => {
    s = await setUp("Root delegating", "p256");
    delegate = await s.ca.issueResponder({ commonName: "OCSP Delegate", key: "rsa2048" });
  });
  const theDelegate = (): Issued => delegate as Issued;
  after(() => tearDown(s));

  void it("signs with a delegate carrying id-kp-OCSPSigning, which verifies", async () => {
    const { ca, good } = s as Setup;
    const responder = await startOpensslResponder({ ca, indexPath: `${ca.dir}/ocsp-index.txt`, signer: theDelegate(), nmin: 5 });
    try {
      const result = await opensslQuery({ issuer: ca, cert: good, url: responder.url, extraArgs: ["-resp_text"] });
      assert.equal(result.status, "good");
      assert.ok(result.verified, result.stderr);
      assert.match(result.stdout, /Responder Id: CN = OCSP Delegate/);
    } finally {
      await responder.stop();
    }
  });

  void it("lets openssl reject a delegate without the EKU and an expired one", async () => {
    const { ca, good } = s as Setup;
    const [noEku, expired] = await Promise.all([
      ca.issueResponder({ commonName: "No EKU", ocspSigning: false }),
      ca.issueResponder({ commonName: "Expired", notBefore: new Date("2020-01-01T00:00:00Z"), notAfter: new Date("2021-01-01T00:00:00Z") }),
    ]);
    for (const signer of [noEku, expired]) {
      const responder = await startOpensslResponder({ ca, indexPath: `${ca.dir}/ocsp-index.txt`, signer });
      try {
        const result = await opensslQuery({ issuer: ca, cert: good, url: responder.url });
        assert.equal(result.status, "good");
        assert.equal(result.verified, false, `${signer.subject} should not verify`);
      } finally {
        await responder.stop();
      }
    }
  });

  void it("restart keeps the URL and can switch the signer", async () => {
    const { ca, responder, good } = s as Setup;
    await responder.restart({ signer: theDelegate() });
    const viaDelegate = await opensslQuery({ issuer: ca, cert: good, url: responder.url, extraArgs: ["-resp_text"] });
    await responder.restart({ signer: ca });
    const viaCa = await opensslQuery({ issuer: ca, cert: good, url: responder.url, extraArgs: ["-resp_text"] });
    assert.match(viaDelegate.stdout, /Responder Id: CN = OCSP Delegate/);
    assert.match(viaCa.stdout, /Responder Id: CN = Root delegating/);
    assert.ok(viaDelegate.verified && viaCa.verified);
  });
});

void describe("openssl ocsp responder behaviour the tests rely on", () => {
  let s: Setup | undefined;
  before(async () => { s = await setUp("Root behaviour", "p256"); });
  after(() => tearDown(s));

  void it("re-reads a rewritten index, but only one request later unless reloadIndex is called", async () => {
    const { ca, responder, good, revoked } = s as Setup;
    const ask = async (): Promise<string | undefined> => (await opensslQuery({ issuer: ca, cert: good, url: responder.url })).status;
    await ca.writeIndex([revokedEntry(good, REVOKED_AT), goodEntry(revoked)]);
    assert.equal(await ask(), "good", "the request right after a rewrite still sees the old index");
    assert.equal(await ask(), "revoked");
    await ca.writeIndex([goodEntry(good), revokedEntry(revoked, REVOKED_AT)]);
    await responder.reloadIndex();
    assert.equal(await ask(), "good");
  });

  void it("answers GET with the request base64'd and percent-encoded (%2B %2F %3D), or not encoded", async () => {
    const { ca, responder, good } = s as Setup;
    const { der, digest } = await requestNeedingEscapes(ca, good);
    const lowerEscapes = getPath(der).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase());
    for (const path of [getPath(der), lowerEscapes, der.toString("base64")]) {
      const response = await fetch(new URL(path, responder.url));
      assert.equal(response.status, 200);
      assert.equal(response.headers.get("content-type"), "application/ocsp-response");
      const result = await opensslQuery({ issuer: ca, cert: good, digest, response: new Uint8Array(await response.arrayBuffer()) });
      assert.equal(result.status, "good", result.stderr);
      assert.ok(result.verified, result.stderr);
    }
    const prefixed = await fetch(new URL(`ocsp/${getPath(der)}`, responder.url));
    assert.equal(prefixed.status, 400, "a path before the base64 is not understood");
    await prefixed.arrayBuffer();
  });

  void it("survives connections that close or stay silent without sending a request", async () => {
    const { ca, responder, good } = s as Setup;
    await new Promise<void>((resolve) => {
      const socket = connect(responder.port, "127.0.0.1", () => socket.destroy());
      socket.on("close", () => { resolve(); });
    });
    const silent = connect(responder.port, "127.0.0.1");
    silent.on("error", () => undefined);
    try {
      const result = await opensslQuery({ issuer: ca, cert: good, url: responder.url, extraArgs: ["-timeout", "5"] });
      assert.equal(result.status, "good", result.stderr);
    } finally {
      silent.destroy();
    }
  });

  void it("records what reached it", async () => {
    const { ca, responder, good } = s as Setup;
    const before = responder.requests.length;
    await opensslQuery({ issuer: ca, cert: good, url: responder.url });
    assert.deepEqual(responder.requests.slice(before), [{ method: "POST", target: "/" }]);
  });
});

/**
 * A request whose base64 holds '+', '/' and '=', so each escape is exercised:
 * the nonce varies the bytes, the CertID hash the length (and so the padding).
 */
async function requestNeedingEscapes(ca: TestCa, cert: Issued): Promise<{ der: Buffer; digest: CertIdDigest }> {
  const digests = ["sha1", "sha256", "sha384"] as const;
  for (let attempt = 0; attempt < 60; attempt++) {
    const digest = digests[attempt % digests.length] ?? "sha1";
    const der = await ocspRequestDer(ca, { cert }, { nonce: true, digest });
    const b64 = der.toString("base64");
    if (b64.includes("+") && b64.includes("/") && b64.endsWith("=")) {
      return { der, digest };
    }
  }
  throw new Error("no request with '+', '/' and '=' in 60 tries");
}
