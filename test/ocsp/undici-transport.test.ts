import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Agent } from "undici";
import { OcspError } from "../../src/ocsp/errors.ts";
import type { OcspErrorCode } from "../../src/ocsp/error-codes.ts";
import type { HttpRequest } from "../../src/ocsp/http-transport.ts";
import { UndiciTransport } from "../../src/ocsp/undici-transport.ts";
import {
  hangUp,
  hangUpMidBody,
  hugeBody,
  neverRespond,
  redirectChain,
  refusedUrl,
  respondWith,
  startServer,
  trickle,
  type Handler,
  type RunningServer,
} from "../support/misbehaving-server.ts";

const PROXY_VARS = ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "no_proxy", "NO_PROXY"] as const;
const MiB = 1024 * 1024;
const KiB = 1024;

/** Sets (or, for undefined, removes) proxy variables; returns a function restoring the previous values. */
function setProxyEnv(values: Partial<Record<(typeof PROXY_VARS)[number], string>>): () => void {
  const saved = new Map(PROXY_VARS.map((name) => [name, process.env[name]]));
  for (const name of PROXY_VARS) {
    const value = values[name];
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) Reflect.deleteProperty(process.env, name);
      else process.env[name] = value;
    }
  };
}

function get(url: URL, overrides: Partial<HttpRequest> = {}): HttpRequest {
  return { url, method: "GET", headers: {}, timeoutMs: 5_000, maxBytes: 64 * KiB, ...overrides };
}

function hasCode(code: OcspErrorCode, ...inMessage: string[]) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof OcspError, `expected an OcspError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    for (const text of inMessage) assert.ok(error.message.includes(text), `"${error.message}" lacks "${text}"`);
    return true;
  };
}

// Each test's servers and transports, closed after it so no handle outlives it.
const servers: RunningServer[] = [];
const transports: UndiciTransport[] = [];

async function serve(handler: Handler): Promise<RunningServer> {
  const server = await startServer(handler);
  servers.push(server);
  return server;
}

function transport(options: ConstructorParameters<typeof UndiciTransport>[0] = {}): UndiciTransport {
  const created = new UndiciTransport(options);
  transports.push(created);
  return created;
}

let restoreEnv: () => void = () => undefined;
before(() => {
  // An ambient proxy (a CI runner's) would otherwise swallow the 127.0.0.1 requests.
  restoreEnv = setProxyEnv({});
});
after(() => {
  restoreEnv();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(transports.splice(0).map((t) => t.close()));
});

void describe("UndiciTransport: answers", () => {
  void it("returns a 200 body intact with the media type normalized", async () => {
    const body = Uint8Array.from({ length: 3000 }, (_, i) => i % 251);
    const server = await serve(respondWith(200, "Application/OCSP-Response; charset=x", body));
    const response = await transport().send(get(new URL("/ocsp", server.url)));
    assert.equal(response.status, 200);
    assert.equal(response.contentType, "application/ocsp-response");
    assert.deepEqual(response.body, body);
    assert.equal(response.body.byteOffset, 0);
    assert.equal(response.body.buffer.byteLength, body.byteLength);
  });

  void it("returns an empty media type when Content-Type is absent", async () => {
    const server = await serve((_req, res) => {
      res.removeHeader("Content-Type");
      res.end("x");
    });
    const response = await transport().send(get(server.url));
    assert.equal(response.contentType, "");
    assert.deepEqual(response.body, new TextEncoder().encode("x"));
  });

  void it("returns a 500 as status 500, not an error", async () => {
    const server = await serve(respondWith(500, "text/plain", "boom"));
    const response = await transport().send(get(server.url));
    assert.equal(response.status, 500);
    assert.equal(response.contentType, "text/plain");
    assert.equal(new TextDecoder().decode(response.body), "boom");
  });

  void it("sends a POST body and the headers as given", async () => {
    const server = await serve(respondWith(200, "application/ocsp-response", "ok"));
    const body = Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x00]);
    await transport().send({
      ...get(new URL("/path?q=1", server.url)),
      method: "POST",
      headers: { "User-Agent": "ocsp-stapler/test", "Content-Type": "application/ocsp-request", Accept: "application/ocsp-response" },
      body,
    });
    assert.equal(server.requests.length, 1);
    const [seen] = server.requests;
    assert.ok(seen);
    assert.equal(seen.method, "POST");
    assert.equal(seen.url, "/path?q=1");
    assert.equal(seen.headers["user-agent"], "ocsp-stapler/test");
    assert.equal(seen.headers["content-type"], "application/ocsp-request");
    assert.equal(seen.headers.accept, "application/ocsp-response");
    assert.equal(seen.headers["content-length"], "5");
    assert.deepEqual(new Uint8Array(seen.body), body);
  });
});

// A timeout on the suite, so a transport that never gives up fails instead of hanging the run.
void describe("UndiciTransport: timeouts", { timeout: 10_000 }, () => {
  void it("fails with ResponderTimeout when the body trickles past the deadline", async () => {
    const server = await serve(trickle(1, 200));
    const started = performance.now();
    await assert.rejects(transport().send(get(server.url, { timeoutMs: 300 })), hasCode("ResponderTimeout", "300 ms"));
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 290, `gave up after ${elapsed} ms, before the deadline`);
    assert.ok(elapsed < 3_000, `took ${elapsed} ms`);
  });

  void it("fails with ResponderTimeout when the server never answers", async () => {
    const server = await serve(neverRespond());
    const started = performance.now();
    await assert.rejects(transport().send(get(server.url, { timeoutMs: 300 })), hasCode("ResponderTimeout"));
    assert.ok(performance.now() - started < 3_000);
    assert.equal(server.requests.length, 1);
  });

  void it("fails with ResponderTimeout when the connection never completes", async () => {
    // A connector that never calls back stands in for a black-holed address.
    const neverConnects = new Agent({ connect: () => undefined });
    const started = performance.now();
    await assert.rejects(
      transport({ dispatcher: neverConnects }).send(get(new URL("http://responder.test/"), { timeoutMs: 300 })),
      hasCode("ResponderTimeout", "responder.test"),
    );
    assert.ok(performance.now() - started < 3_000);
  });
});

void describe("UndiciTransport: size cap", { timeout: 10_000 }, () => {
  for (const declareLength of [true, false]) {
    void it(`stops a 64 MiB body at 64 KiB (Content-Length ${declareLength ? "declared" : "absent"})`, async () => {
      const handler = hugeBody(64 * MiB, { declareLength });
      const server = await serve(handler);
      const started = performance.now();
      await assert.rejects(
        transport().send(get(server.url, { maxBytes: 64 * KiB })),
        // A declared length is refused before any of the body is read.
        hasCode("ResponseTooLarge", String(64 * KiB), declareLength ? "Content-Length" : "body exceeds"),
      );
      assert.ok(performance.now() - started < 3_000);
      assert.equal(handler.stats.finished, false);
      assert.ok(handler.stats.bytesWritten < 32 * MiB, `server wrote ${handler.stats.bytesWritten} bytes`);
    });
  }

  void it("accepts a body of exactly maxBytes", async () => {
    const server = await serve(respondWith(200, "application/ocsp-response", new Uint8Array(1000)));
    const response = await transport().send(get(server.url, { maxBytes: 1000 }));
    assert.equal(response.body.byteLength, 1000);
  });
});

void describe("UndiciTransport: unreachable", () => {
  void it("maps connection refused to ResponderUnreachable, naming host and code", async () => {
    const url = await refusedUrl();
    const error = await transport()
      .send(get(url))
      .then(
        () => assert.fail("expected a rejection"),
        (e: unknown) => e,
      );
    assert.ok(hasCode("ResponderUnreachable", url.host, "ECONNREFUSED")(error));
    assert.ok(error instanceof OcspError);
    assert.ok(error.cause instanceof Error);
    assert.equal(error.retryable, true);
  });

  void it("maps a hang-up before the answer to ResponderUnreachable", async () => {
    const server = await serve(hangUp());
    await assert.rejects(transport().send(get(server.url)), hasCode("ResponderUnreachable", server.url.host));
  });

  void it("maps a hang-up in the middle of the body to ResponderUnreachable", async () => {
    const server = await serve(hangUpMidBody());
    await assert.rejects(transport().send(get(server.url)), hasCode("ResponderUnreachable", server.url.host));
  });

  void it("maps a DNS failure to ResponderUnreachable", async () => {
    await assert.rejects(
      transport().send(get(new URL("http://no-such-host.invalid/"))),
      hasCode("ResponderUnreachable", "no-such-host.invalid"),
    );
  });

  void it("maps a TLS failure to ResponderUnreachable", async () => {
    // An https:// URL to a plain-HTTP server: the handshake cannot succeed.
    const server = await serve(respondWith(200, "text/plain", "not tls"));
    const url = new URL(server.url);
    url.protocol = "https:";
    await assert.rejects(transport().send(get(url)), hasCode("ResponderUnreachable", url.host));
  });
});

void describe("UndiciTransport: redirects", () => {
  void it("follows 3 redirects by default", async () => {
    const server = await serve(redirectChain(3, respondWith(200, "application/ocsp-response", "final")));
    const response = await transport().send(get(server.url));
    assert.equal(response.status, 200);
    assert.equal(new TextDecoder().decode(response.body), "final");
    assert.deepEqual(
      server.requests.map((r) => r.url),
      ["/", "/hop/1", "/hop/2", "/hop/3"],
    );
  });

  void it("fails with ResponderHTTPError on a 4th redirect", async () => {
    const server = await serve(redirectChain(4, respondWith(200, "application/ocsp-response", "final")));
    await assert.rejects(transport().send(get(server.url)), hasCode("ResponderHTTPError", "too many redirects"));
    assert.equal(server.requests.length, 4);
  });

  void it("honours maxRedirects: 0", async () => {
    const server = await serve(redirectChain(1, respondWith(200, "application/ocsp-response", "final")));
    await assert.rejects(
      transport().send(get(server.url, { maxRedirects: 0 })),
      hasCode("ResponderHTTPError", "too many redirects"),
    );
    assert.equal(server.requests.length, 1);
  });

  void it("keeps a POST body across a 307 redirect", async () => {
    const server = await serve(redirectChain(1, respondWith(200, "application/ocsp-response", "final"), 307));
    const body = Uint8Array.from([1, 2, 3]);
    await transport().send({ ...get(server.url), method: "POST", body });
    assert.deepEqual(
      server.requests.map((r) => [r.method, r.url, [...r.body]]),
      [
        ["POST", "/", [1, 2, 3]],
        ["POST", "/hop/1", [1, 2, 3]],
      ],
    );
  });
});

void describe("UndiciTransport: proxy", () => {
  void it("sends through HTTP_PROXY, even to 127.0.0.1", async () => {
    const proxy = await serve(respondWith(200, "application/ocsp-response", "via proxy"));
    const target = await serve(respondWith(200, "application/ocsp-response", "direct"));
    const restore = setProxyEnv({ HTTP_PROXY: proxy.url.href });
    try {
      const response = await transport().send(get(new URL("/ocsp/abc", target.url)));
      assert.equal(new TextDecoder().decode(response.body), "via proxy");
    } finally {
      restore();
    }
    assert.deepEqual(
      proxy.requests.map((r) => [r.method, r.url, r.headers.host]),
      [["GET", `${target.url.origin}/ocsp/abc`, target.url.host]],
    );
    assert.equal(target.requests.length, 0);
  });

  void it("bypasses the proxy for hosts in NO_PROXY", async () => {
    const proxy = await serve(respondWith(200, "application/ocsp-response", "via proxy"));
    const target = await serve(respondWith(200, "application/ocsp-response", "direct"));
    const restore = setProxyEnv({ HTTP_PROXY: proxy.url.href, NO_PROXY: "127.0.0.1" });
    try {
      const response = await transport().send(get(new URL("/ocsp/abc", target.url)));
      assert.equal(new TextDecoder().decode(response.body), "direct");
    } finally {
      restore();
    }
    assert.equal(proxy.requests.length, 0);
    assert.deepEqual(
      target.requests.map((r) => r.url),
      ["/ocsp/abc"],
    );
  });

  void it("reports an unreachable proxy as ResponderUnreachable", async () => {
    const proxyUrl = await refusedUrl();
    const restore = setProxyEnv({ HTTP_PROXY: proxyUrl.href });
    try {
      await assert.rejects(transport().send(get(new URL("http://192.0.2.1/ocsp"))), hasCode("ResponderUnreachable", "192.0.2.1"));
    } finally {
      restore();
    }
  });
});
