import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { certIdFor } from "../../src/ocsp/cert-id.ts";
import { servableStaple, type ServableStaple } from "../../src/responder/servable-staple.ts";
import { makeOfflineResponse } from "../support/offline-response.ts";
import { execOpenssl } from "../support/pki-openssl.ts";
import { createRootCa, goodEntry, revokedEntry, type Issued, type TestCa } from "../support/pki.ts";
import { sumSeries } from "../support/prometheus-text.ts";
import { opensslRequest, startResponderFixture, type ResponderFixture } from "../support/responder-fixture.ts";

const UNAUTHORIZED = Buffer.from("30030a0106", "hex");
const MALFORMED = Buffer.from("30030a0101", "hex");
const TRY_LATER = Buffer.from("30030a0103", "hex");

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

/** One HTTP request on a fresh connection, raw path and all (fetch would normalise the path). */
function send(port: number, method: string, path: string, body?: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: "127.0.0.1", port, method, path, agent: false, headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/ocsp-request", "content-length": String(body.length) }) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => { resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks) }); });
    });
    request.on("error", reject);
    request.end(body);
  });
}

void describe("the responder answers OCSP over HTTP from stored staples (RFC 6960 Appendix A, RFC 5019)", () => {
  let ca: TestCa;
  let good: Issued;
  let revoked: Issued;
  let unknown: Issued;
  let goodStaple: ServableStaple;
  let goodDer: Buffer;
  let revokedDer: Buffer;
  let pairDer: Buffer;
  let other: Issued;
  let fixture: ResponderFixture;
  let now = new Date();
  const clock = { now: () => now };

  before(async () => {
    ca = await createRootCa({ name: "Responder Test CA", key: "p256" });
    const issue = (name: string) => ca.issue({ commonName: `${name}.example` });
    [good, revoked, unknown, other] = [await issue("good"), await issue("revoked"), await issue("unknown"), await issue("other")];
    const index = await ca.writeIndex([goodEntry(good), revokedEntry(revoked, new Date("2026-01-01T00:00:00Z"), "keyCompromise"), goodEntry(other)]);
    goodDer = Buffer.from(await makeOfflineResponse({ subject: good, ca, index, nextUpdateDays: 2 }));
    revokedDer = Buffer.from(await makeOfflineResponse({ subject: revoked, ca, index }));
    // One signed response answering two certificates, as OpenSSL makes it for a request naming both.
    const pairRequest = join(ca.dir, "pair-request.der");
    await writeFile(pairRequest, await opensslRequest(ca, [good, other]));
    const pairPath = join(ca.dir, "pair-response.der");
    const made = await execOpenssl(["ocsp", "-index", index, "-CA", ca.certPath, "-rsigner", ca.certPath, "-rkey", ca.keyPath, "-reqin", pairRequest, "-respout", pairPath, "-ndays", "1"]);
    assert.equal(made.code, 0, made.stderr);
    pairDer = await readFile(pairPath);
    goodStaple = servableStaple(goodDer) ?? assert.fail("the good staple does not read");
    fixture = await startResponderFixture(clock);
    fixture.index.set("companions/shop/good-ocsp", [goodStaple]);
    fixture.index.set("companions/shop/revoked-ocsp", [servableStaple(revokedDer) ?? assert.fail("revoked")]);
  });
  after(async () => {
    await fixture.server.close();
    await ca.cleanup();
  });

  void it("POST: OpenSSL's own client accepts the answer, and the bytes are the stored staple's", async () => {
    const out = join(ca.dir, "post-answer.der");
    const result = await execOpenssl(["ocsp", "-issuer", ca.certPath, "-cert", good.certPath, "-url", `${fixture.url}/`, "-CAfile", ca.certPath, "-respout", out]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /: good/);
    // OpenSSL sends a nonce by default: the pre-signed answer has none, and OpenSSL says so without refusing it.
    assert.match(result.stderr, /WARNING: no nonce in response/);
    assert.deepEqual(await readFile(out), goodDer);
  });

  void it("POST: a revoked certificate's staple is served as signed, and OpenSSL reads it revoked", async () => {
    const result = await execOpenssl(["ocsp", "-issuer", ca.certPath, "-cert", revoked.certPath, "-url", `${fixture.url}/ocsp`, "-CAfile", ca.certPath, "-no_nonce"]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /: revoked/);
  });

  void it("GET under any path prefix, with the base64 as is, or with %2F / %2B / %3D escapes, answers the same bytes", async () => {
    const encoded = (await opensslRequest(ca, [good])).toString("base64");
    const escaped = encodeURIComponent(encoded);
    for (const path of [`/${encoded}`, `/ocsp/${encoded}`, `/a/b/c/${escaped}`, `/${escaped}`]) {
      const answer = await send(fixture.server.port, "GET", path);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.headers["content-type"], "application/ocsp-response");
      assert.deepEqual(answer.body, goodDer, path);
    }
  });

  void it("GET: RFC 5019 §6.2 caching headers, bounded by nextUpdate", async () => {
    const encoded = encodeURIComponent((await opensslRequest(ca, [good])).toString("base64"));
    const answer = await send(fixture.server.port, "GET", `/${encoded}`);
    const maxAge = Number(/max-age=(\d+)/.exec(String(answer.headers["cache-control"]))?.[1]);
    assert.match(String(answer.headers["cache-control"]), /^max-age=\d+, public, no-transform, must-revalidate$/);
    assert.ok(maxAge > 0 && now.getTime() + maxAge * 1000 <= goodStaple.usableUntilMs, `max-age ${maxAge} reaches past nextUpdate`);
    assert.equal(answer.headers["last-modified"], new Date(goodStaple.thisUpdateMs).toUTCString());
    assert.equal(answer.headers.expires, new Date(goodStaple.usableUntilMs).toUTCString());
    assert.equal(answer.headers.etag, `"${createHash("sha1").update(goodDer).digest("hex")}"`);
  });

  void it("GET: 304 for a matching If-None-Match or an If-Modified-Since at or after thisUpdate; 200 otherwise", async () => {
    const path = `/${encodeURIComponent((await opensslRequest(ca, [good])).toString("base64"))}`;
    const etag = goodStaple.etag;
    assert.equal((await send(fixture.server.port, "GET", path, undefined, { "if-none-match": etag })).status, 304);
    assert.equal((await send(fixture.server.port, "GET", path, undefined, { "if-none-match": `"other", W/${etag}` })).status, 304);
    assert.equal((await send(fixture.server.port, "GET", path, undefined, { "if-none-match": "\"other\"" })).status, 200);
    const lastModified = new Date(goodStaple.thisUpdateMs).toUTCString();
    assert.equal((await send(fixture.server.port, "GET", path, undefined, { "if-modified-since": lastModified })).status, 304);
    assert.equal((await send(fixture.server.port, "GET", path, undefined, { "if-modified-since": new Date(goodStaple.thisUpdateMs - 60_000).toUTCString() })).status, 200);
  });

  void it("a CertID without a staple gets unauthorized (RFC 5019 §2.2.3), which OpenSSL reports as such", async () => {
    const result = await execOpenssl(["ocsp", "-issuer", ca.certPath, "-cert", unknown.certPath, "-url", `${fixture.url}/`, "-no_nonce"]);
    assert.notEqual(result.code, 0);
    assert.match(result.stdout + result.stderr, /unauthorized \(6\)/);
    const answer = await send(fixture.server.port, "POST", "/", await opensslRequest(ca, [unknown]));
    assert.deepEqual(answer.body, UNAUTHORIZED);
    assert.equal(answer.headers["cache-control"], "no-store");
  });

  void it("bytes that are no OCSP request get malformedRequest, whether POSTed or in a GET path", async () => {
    assert.deepEqual((await send(fixture.server.port, "POST", "/", Buffer.from("not an OCSP request"))).body, MALFORMED);
    assert.deepEqual((await send(fixture.server.port, "GET", "/")).body, MALFORMED);
    assert.deepEqual((await send(fixture.server.port, "GET", "/ocsp/%ZZ")).body, MALFORMED);
    assert.deepEqual((await send(fixture.server.port, "GET", `/${Buffer.from("garbage").toString("base64")}`)).body, MALFORMED);
  });

  void it("several CertIDs: the one stored response that answers all of them, else malformedRequest", async () => {
    const both = await opensslRequest(ca, [good, other]);
    assert.deepEqual((await send(fixture.server.port, "POST", "/", both)).body, MALFORMED, "no single stored response answers both yet");
    fixture.index.set("companions/shop/pair", [servableStaple(pairDer) ?? assert.fail("pair")]);
    try {
      assert.deepEqual((await send(fixture.server.port, "POST", "/", both)).body, pairDer);
    } finally {
      fixture.index.set("companions/shop/pair", []);
    }
  });

  void it("a SHA-256 CertID is answered through the operator's cert-ids, and only through them", async () => {
    const sha256 = await opensslRequest(ca, [good], { digest: "sha256" });
    assert.deepEqual((await send(fixture.server.port, "POST", "/", sha256)).body, UNAUTHORIZED, "the staple carries a SHA-1 CertID only");
    const [issuer] = readCertificates(ca.certPem, "CA");
    const [leaf] = readCertificates(good.certPem, "leaf");
    if (issuer === undefined || leaf === undefined) return assert.fail("certificates");
    const aliased = servableStaple(goodDer, { certIds: [certIdFor(leaf.serial, issuer, "sha1"), certIdFor(leaf.serial, issuer, "sha256")] });
    fixture.index.set("companions/shop/good-ocsp", [aliased ?? assert.fail("aliased")]);
    try {
      assert.deepEqual((await send(fixture.server.port, "POST", "/", sha256)).body, goodDer);
      // Aliases that do not name the response's own CertID are not taken: a wrong annotation cannot redirect a staple.
      const foreign = servableStaple(goodDer, { certIds: [certIdFor("1234", issuer, "sha1"), certIdFor(leaf.serial, issuer, "sha256")] });
      assert.equal(foreign?.certIdKeys.length, 1);
    } finally {
      fixture.index.set("companions/shop/good-ocsp", [goodStaple]);
    }
  });

  void it("a staple past its usable end is never served, even while still stored", async () => {
    const path = `/${encodeURIComponent((await opensslRequest(ca, [good])).toString("base64"))}`;
    const saved = now;
    now = new Date(goodStaple.usableUntilMs + 1);
    try {
      assert.deepEqual((await send(fixture.server.port, "GET", path)).body, UNAUTHORIZED);
    } finally {
      now = saved;
    }
    // The operator's usable-until (the leaf's notAfter, a delegate's) ends it earlier than nextUpdate.
    const early = servableStaple(goodDer, { usableUntil: new Date(now.getTime() + 30_000).toISOString() }) ?? assert.fail("early");
    assert.equal(early.usableUntilMs, now.getTime() + 30_000);
    assert.ok(early.usableUntilMs < goodStaple.usableUntilMs);
  });

  void it("before the staples are first read, every request gets tryLater, not a false unauthorized", async () => {
    fixture.ready = false;
    try {
      assert.deepEqual((await send(fixture.server.port, "POST", "/", await opensslRequest(ca, [good]))).body, TRY_LATER);
    } finally {
      fixture.ready = true;
    }
  });

  void it("counts requests by method and result", async () => {
    const text = await fixture.metrics.registry.metrics();
    const count = (method: string, result: string) => sumSeries(text, "ocsp_stapler_responder_requests_total", { method, result });
    assert.ok(count("GET", "staple") >= 4);
    assert.ok(count("GET", "not_modified") >= 3);
    assert.ok(count("POST", "unauthorized") >= 1);
    assert.ok(count("POST", "malformed") >= 1);
    assert.ok(count("POST", "try_later") >= 1);
    assert.equal(sumSeries(text, "ocsp_stapler_responder_staples"), 2);
  });
});

void describe("the responder's limits: what a hostile or broken client can make it hold", () => {
  let fixture: ResponderFixture;
  before(async () => { fixture = await startResponderFixture({ now: () => new Date() }, { maxBodyBytes: 1024, maxUrlBytes: 512, headersTimeoutMs: 300, requestTimeoutMs: 600 }); });
  after(async () => { await fixture.server.close(); });

  void it("refuses other methods (405), a long URL (414) and a large body (413), naming the limit", async () => {
    const put = await send(fixture.server.port, "PUT", "/", Buffer.alloc(10));
    assert.equal(put.status, 405);
    assert.equal(put.headers.allow, "GET, POST");
    const long = await send(fixture.server.port, "GET", `/${"A".repeat(600)}`);
    assert.equal(long.status, 414);
    assert.match(long.body.toString(), /512 bytes/);
    const large = await send(fixture.server.port, "POST", "/", Buffer.alloc(5000, 0x30));
    assert.equal(large.status, 413);
    assert.match(large.body.toString(), /1024 bytes/);
  });

  void it("closes a connection that trickles its headers (slowloris) once the header timeout passes", async () => {
    const socket = connect(fixture.server.port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", resolve));
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n");
    const ended = await new Promise<string>((resolve) => {
      let text = "";
      socket.on("data", (chunk: Buffer) => { text += chunk.toString(); });
      socket.once("close", () => { resolve(text); });
    });
    assert.match(ended, /^HTTP\/1\.1 408|^$/, "the server ends it (408 Request Timeout or a plain close)");
  });

  void it("a flood of random requests gets malformedRequest each, and the next real request its proper answer", async () => {
    const answers = await Promise.all(Array.from({ length: 400 }, (_, n) => n % 2 === 0
      ? send(fixture.server.port, "POST", "/", Buffer.from(Array.from({ length: 1 + (n % 700) }, () => Math.floor(Math.random() * 256))))
      : send(fixture.server.port, "GET", `/${encodeURIComponent(Buffer.from(Array.from({ length: 1 + (n % 300) }, () => Math.floor(Math.random() * 256))).toString("base64"))}`)));
    for (const answer of answers) {
      assert.equal(answer.status, 200);
      assert.deepEqual(answer.body, MALFORMED);
    }
    const ca = await createRootCa({ name: "Flood CA", key: "p256" });
    try {
      const leaf = await ca.issue({ commonName: "flood.example" });
      assert.deepEqual((await send(fixture.server.port, "POST", "/", await opensslRequest(ca, [leaf]))).body, UNAUTHORIZED);
    } finally {
      await ca.cleanup();
    }
  });
});
