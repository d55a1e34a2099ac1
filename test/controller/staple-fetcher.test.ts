// The fetcher hands the issuer its caller found to the client, which uses it as is.
// Against a real local server replaying Google's 2016 response, on a fixed clock.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { FetcherStopped } from "../../src/controller/host-busy.ts";
import { StapleFetcher } from "../../src/controller/staple-fetcher.ts";
import { fixedClock } from "../../src/ocsp/clock.ts";
import { OcspClient } from "../../src/ocsp/ocsp-client.ts";
import { LoopbackOnlyTransport } from "../support/loopback-transport.ts";
import type { ServerResponse } from "node:http";
import { respondWith, startServer, type RunningServer } from "../support/misbehaving-server.ts";
import { waitFor } from "../support/wait-for.ts";
import { vector, vectorCertificate, vectorChain } from "../support/vectors.ts";

const AT = new Date("2016-11-22T00:00:00Z");

void describe("StapleFetcher and the issuer it is given", () => {
  const transport = new LoopbackOnlyTransport();
  let server: RunningServer;
  before(async () => { server = await startServer(respondWith(200, "application/ocsp-response", vector("botan/resp2.der"))); });
  after(async () => { await server.close(); await transport.close(); });

  const fetcher = () => new StapleFetcher(new OcspClient({ transport, clock: fixedClock(AT) }));
  // The chain alone holds no issuer: only the one passed in can be used.
  const chain = vectorChain("botan/gmail.pem");
  const issuer = vectorCertificate("botan/google_g2.pem");

  void it("passes a found issuer through, not searched for again", async () => {
    const staple = await fetcher().fetch({ chain, urlOverride: server.url.href, issuer: { certificate: issuer, source: "aia" } }, AT.getTime());
    assert.deepEqual([staple.certStatus.kind, staple.issuerSource], ["good", "aia"]);
  });
});

void describe("StapleFetcher's backlog: seen before a fetch is asked for, and dropped at stop", () => {
  const transport = new LoopbackOnlyTransport();
  const held: ServerResponse[] = [];
  let server: RunningServer;
  before(async () => { server = await startServer((_request, response) => { held.push(response); }); });
  after(async () => { await server.close(); await transport.close(); });

  const chain = vectorChain("botan/gmail.pem");
  const issuer = vectorCertificate("botan/google_g2.pem");
  const answerOne = () => { held.shift()?.writeHead(200, { "content-type": "application/ocsp-response" }).end(vector("botan/resp2.der")); };

  void it("has room until its host's backlog is full, then resolves when a fetch to that host ends", async () => {
    const fetcher = new StapleFetcher(new OcspClient({ transport, clock: fixedClock(AT) }), { concurrencyPerHost: 1, ratePerHostPerSecond: 100, backlogPerHost: 1 });
    // Two URLs on one host: two fetches (not shared), one in flight and one waiting.
    const fetch = (path: string) => fetcher.fetch({ chain, urlOverride: new URL(path, server.url).href, issuer: { certificate: issuer, source: "aia" } }, AT.getTime());
    assert.equal(fetcher.roomFor(server.url.href), undefined);
    const first = fetch("/a");
    const second = fetch("/b");
    const room = fetcher.roomFor(new URL("/c", server.url).href);
    assert.ok(room !== undefined, "no room: one fetch in flight, one in the backlog");
    assert.equal(fetcher.roomFor("http://127.0.0.2:1/other-host"), undefined, "another host has room");
    await waitFor(() => held.length === 1 || undefined, "a request held by the server", 5_000, 1);
    answerOne();
    await room;
    assert.equal((await first).certStatus.kind, "good");
    await waitFor(() => held.length === 1 || undefined, "a request held by the server", 5_000, 1);
    assert.equal(fetcher.roomFor(server.url.href), undefined, "the waiting fetch went in flight: the backlog has room");
    answerOne();
    assert.equal((await second).certStatus.kind, "good");
  });

  void it("once stopped, ends the fetch in flight and sends none of those waiting", async () => {
    const fetcher = new StapleFetcher(new OcspClient({ transport, clock: fixedClock(AT) }), { concurrencyPerHost: 1, ratePerHostPerSecond: 100, backlogPerHost: 10 });
    const fetch = (path: string) => fetcher.fetch({ chain, urlOverride: new URL(path, server.url).href, issuer: { certificate: issuer, source: "aia" } }, AT.getTime());
    const seen = server.requests.length;
    const inFlight = fetch("/stop-a");
    const waiting = [fetch("/stop-b"), fetch("/stop-c")];
    await waitFor(() => held.length === 1 || undefined, "the first request held by the server", 5_000, 1);
    fetcher.stop();
    answerOne();
    assert.equal((await inFlight).certStatus.kind, "good");
    for (const fetched of waiting) await assert.rejects(fetched, FetcherStopped);
    assert.equal(server.requests.length - seen, 1, "only the request in flight reached the responder");
  });
});

