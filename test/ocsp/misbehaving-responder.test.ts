// Every way a responder can fail us, each against a real local HTTP server, through
// the whole client path (issuer, request, transport, checks, verify). The "good"
// answers are genuine pre-signed CA responses replayed byte for byte; a fixed clock
// makes them fresh. Each case asserts the exact stable error code.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { fixedClock } from "../../src/ocsp/clock.ts";
import type { Chain } from "../../src/ocsp/chain.ts";
import { isOcspError } from "../../src/ocsp/errors.ts";
import type { OcspErrorCode } from "../../src/ocsp/error-codes.ts";
import { OcspClient, type FetchOptions } from "../../src/ocsp/ocsp-client.ts";
import { queryResponder } from "../../src/ocsp/responder-client.ts";
import { LoopbackOnlyTransport } from "../support/loopback-transport.ts";
import { hangUp, hugeBody, refusedUrl, respondWith, startServer, trickle, type Handler, type RunningServer } from "../support/misbehaving-server.ts";
import { vector, vectorCertificate, vectorChain } from "../support/vectors.ts";

const OCSP = "application/ocsp-response";
const replay = (path: string): Handler => respondWith(200, OCSP, vector(path));

// Google's 2016 response for gmail.com, signed by its issuer: good 2016-11-21T19:05:47Z..2016-11-28T19:05:47Z.
const GOOGLE = { chain: () => vectorChain("botan/gmail.pem", "botan/google_g2.pem"), at: "2016-11-22T00:00:00Z" };

interface Case {
  name: string;
  handler: Handler;
  chain?: () => Chain;
  at?: string;
  options?: Partial<FetchOptions>;
  expect: OcspErrorCode;
}

const CASES: Case[] = [
  { name: "HTTP 500", handler: respondWith(500, "text/plain", "oops"), expect: "ResponderHTTPError" },
  { name: "HTTP 404", handler: respondWith(404, OCSP, ""), expect: "ResponderHTTPError" },
  { name: "an HTML page", handler: respondWith(200, "text/html", "<html><body>Service Unavailable</body></html>"), expect: "BadContentType" },
  { name: "no Content-Type at all", handler: respondWith(200, "", vector("botan/resp2.der")), expect: "BadContentType" },
  { name: "random bytes", handler: respondWith(200, OCSP, randomBytes(300)), expect: "MalformedResponse" },
  { name: "an empty body", handler: respondWith(200, OCSP, new Uint8Array()), expect: "MalformedResponse" },
  { name: "a truncated response", handler: respondWith(200, OCSP, vector("botan/resp2.der").subarray(0, 200)), expect: "MalformedResponse" },
  { name: "64 MiB", handler: hugeBody(64 * 1024 * 1024, { declareLength: false }), expect: "ResponseTooLarge" },
  { name: "a byte every 100 ms", handler: trickle(1, 100), options: { timeoutMs: 500 }, expect: "ResponderTimeout" },
  { name: "a hang-up", handler: hangUp(), expect: "ResponderUnreachable" },
  { name: "tryLater", handler: replay("rustcrypto-x509-ocsp/ocsp-try-later.der"), expect: "ResponderTryLater" },
  { name: "unauthorized", handler: replay("rustcrypto-x509-ocsp/ocsp-unauthorized.der"), expect: "ResponderUnauthorized" },
  { name: "internalError", handler: replay("rustcrypto-x509-ocsp/ocsp-internal-error.der"), expect: "ResponderError" },
  { name: "malformedRequest", handler: replay("rustcrypto-x509-ocsp/ocsp-malformed.der"), expect: "ResponderError" },
  { name: "a response not yet valid", handler: replay("botan/resp2.der"), at: "2016-11-21T18:00:00Z", expect: "NotYetValid" },
  { name: "a response past nextUpdate", handler: replay("botan/resp2.der"), at: "2016-12-10T00:00:00Z", expect: "Expired" },
  { name: "no nonce echoed when one was sent", handler: replay("botan/resp2.der"), options: { withNonce: true }, expect: "NonceMismatch" },
  { name: "a forged signature", handler: replay("openssl-ocsp-tests/ISOP_ND1.der"), chain: () => vectorChain("openssl-ocsp-tests/ND1_Cert_EE.pem", "openssl-ocsp-tests/ND1_Issuer_ICA.pem"), at: "2012-10-12T00:00:00Z", expect: "BadSignature" },
  { name: "a signer nobody vouches for", handler: replay("botan/randombit_ocsp_forged_revoked.der"), chain: () => vectorChain("botan/randombit.pem", "botan/letsencrypt.pem"), at: "2016-11-18T12:30:00Z", expect: "UnauthorizedSigner" },
  { name: "an expired delegated responder", handler: replay("botan/mychain_ocsp_for_ee_delegate_signed.der"), chain: () => vectorChain("botan/mychain_ee.pem", "botan/mychain_int.pem"), at: "2022-10-08T23:30:00Z", expect: "SignerExpired" },
  { name: "an answer about another certificate", handler: replay("aws-lc-s2n/ocsp_response.der"), chain: () => vectorChain("aws-lc-s2n/ecdsa_cert.pem", "aws-lc-s2n/ca_cert.pem"), at: "2021-05-27T00:00:00Z", expect: "CertIDMismatch" },
  { name: "an md2WithRSA signature", handler: replay("pyca-cryptography/resp-invalid-signature-oid.der"), chain: () => vectorChain("pyca-cryptography/cryptography.io.precert.pem", "pyca-cryptography/letsencryptx3.pem"), at: "2018-08-31T00:00:00Z", expect: "UnsupportedAlgorithm" },
];

void describe("a misbehaving responder", () => {
  const transport = new LoopbackOnlyTransport();
  after(() => transport.close());

  for (const testCase of CASES) {
    void it(`${testCase.name} -> ${testCase.expect}`, { timeout: 10_000 }, async () => {
      const server = await startServer(testCase.handler);
      try {
        const client = new OcspClient({ transport, clock: fixedClock(new Date(testCase.at ?? GOOGLE.at)) });
        const started = Date.now();
        await assert.rejects(
          client.fetchStaple({ chain: (testCase.chain ?? GOOGLE.chain)(), urlOverride: server.url.href, ...testCase.options }),
          (error) => isOcspError(error) && error.code === testCase.expect,
        );
        assert.ok(Date.now() - started < 5_000, "failed quickly");
      } finally {
        await server.close();
      }
    });
  }

  void it("a refused connection -> ResponderUnreachable", async () => {
    const client = new OcspClient({ transport, clock: fixedClock(new Date(GOOGLE.at)) });
    const url = await refusedUrl();
    await assert.rejects(client.fetchStaple({ chain: GOOGLE.chain(), urlOverride: url.href }), (error) => isOcspError(error) && error.code === "ResponderUnreachable");
  });

  void it("a responder URL that is not http -> NoResponderURL", async () => {
    const client = new OcspClient({ transport, clock: fixedClock(new Date(GOOGLE.at)) });
    await assert.rejects(client.fetchStaple({ chain: GOOGLE.chain(), urlOverride: "ldap://ocsp.example/" }), (error) => isOcspError(error) && error.code === "NoResponderURL");
  });
});

void describe("a well-behaved responder", () => {
  const transport = new LoopbackOnlyTransport();
  let server: RunningServer;
  before(async () => { server = await startServer(replay("botan/resp2.der")); });
  after(async () => { await server.close(); await transport.close(); });

  void it("returns the verified response, byte for byte, with its dates and responder", async () => {
    const client = new OcspClient({ transport, clock: fixedClock(new Date(GOOGLE.at)) });
    const staple = await client.fetchStaple({ chain: GOOGLE.chain(), urlOverride: server.url.href });
    assert.deepEqual(staple.der, vector("botan/resp2.der"));
    assert.equal(staple.certStatus.kind, "good");
    assert.equal(staple.thisUpdate.toISOString(), "2016-11-21T19:05:47.000Z");
    assert.equal(staple.usableUntil.toISOString(), "2016-11-28T19:05:47.000Z");
    assert.equal(staple.responder, server.url.href);
    assert.equal(staple.issuerSource, "chain");
  });

  void it("uses an issuer the caller already found, without searching for it again", async () => {
    const client = new OcspClient({ transport, clock: fixedClock(new Date(GOOGLE.at)) });
    // The chain alone holds no issuer, and gmail's caIssuers URL is not reachable from here: a search would fail.
    const staple = await client.fetchStaple({ chain: vectorChain("botan/gmail.pem"), issuer: { certificate: vectorCertificate("botan/google_g2.pem"), source: "ca.crt" }, urlOverride: server.url.href });
    assert.deepEqual([staple.certStatus.kind, staple.issuerSource], ["good", "ca.crt"]);
    await assert.rejects(client.fetchStaple({ chain: vectorChain("botan/gmail.pem"), urlOverride: server.url.href }), (error) => isOcspError(error) && error.code === "NoIssuer");
  });

  void it("sends a small request as an RFC 5019 GET, with our headers", async () => {
    const client = new OcspClient({ transport, clock: fixedClock(new Date(GOOGLE.at)) });
    server.requests.length = 0;
    await client.fetchStaple({ chain: GOOGLE.chain(), urlOverride: server.url.href });
    const [request] = server.requests;
    assert.equal(request?.method, "GET");
    assert.match(request.headers["user-agent"] ?? "", /^ocsp-stapler\/\d+\.\d+\.\d+$/);
    assert.equal(request.headers.accept, "application/ocsp-response");
    // The path is the URL-encoded base64 DER request: it decodes to a SHA-1 CertID for gmail's serial.
    const der = Buffer.from(decodeURIComponent(request.url.slice(1)), "base64");
    assert.ok(der.toString("hex").includes("42483e0c5f9160c6"), "the request names the leaf's serial");
    assert.ok(der.toString("hex").includes("06052b0e03021a"), "the CertID uses SHA-1");
  });

  void it("POSTs when asked, with Content-Type application/ocsp-request", async () => {
    const client = new OcspClient({ transport, clock: fixedClock(new Date(GOOGLE.at)) });
    server.requests.length = 0;
    await client.fetchStaple({ chain: GOOGLE.chain(), urlOverride: server.url.href, method: "POST", hashAlgorithm: "sha256" });
    const [request] = server.requests;
    assert.equal(request?.method, "POST");
    assert.equal(request.headers["content-type"], "application/ocsp-request");
    assert.ok(Buffer.from(request.body).toString("hex").includes("0609608648016503040201"), "the CertID uses SHA-256");
  });

  // RFC 5019 §5: GET only while the URL-encoded base64 request is at most 255 bytes.
  // Zero bytes encode to "A"s (no %-escapes): 189 bytes -> 252 characters, 192 -> 256.
  for (const [size, method] of [[189, "GET"], [192, "POST"]] as const) {
    void it(`a ${size}-byte request goes out as ${method}`, async () => {
      server.requests.length = 0;
      await queryResponder(transport, { url: server.url.href, requestDer: new Uint8Array(size) });
      assert.equal(server.requests[0]?.method, method);
    });
  }
});
