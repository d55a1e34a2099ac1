// The fetcher hands the issuer its caller found to the client, which uses it as is.
// Against a real local server replaying Google's 2016 response, on a fixed clock.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StapleFetcher } from "../../src/controller/staple-fetcher.ts";
import { fixedClock } from "../../src/ocsp/clock.ts";
import { OcspClient } from "../../src/ocsp/ocsp-client.ts";
import { LoopbackOnlyTransport } from "../support/loopback-transport.ts";
import { respondWith, startServer, type RunningServer } from "../support/misbehaving-server.ts";
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
