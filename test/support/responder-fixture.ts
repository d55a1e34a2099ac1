import { readFile } from "node:fs/promises";
import { join } from "node:path";
import pino from "pino";
import type { Clock } from "../../src/ocsp/clock.ts";
import { ResponderMetrics } from "../../src/responder/responder-metrics.ts";
import { startResponderServer, type ResponderLimits, type RunningResponderServer } from "../../src/responder/responder-server.ts";
import { StapleIndex } from "../../src/responder/staple-index.ts";
import { runOpenssl } from "./pki-openssl.ts";
import type { Issued, TestCa } from "./pki.ts";

/** A responder server on loopback over an index the test fills, with its own metrics. */
export interface ResponderFixture {
  readonly index: StapleIndex;
  readonly metrics: ResponderMetrics;
  readonly server: RunningResponderServer;
  readonly url: string;
  ready: boolean;
}

export async function startResponderFixture(clock: Clock, limits: Partial<ResponderLimits> = {}): Promise<ResponderFixture> {
  const index = new StapleIndex();
  const metrics = new ResponderMetrics(() => index.size);
  const fixture = { index, metrics, ready: true } as { index: StapleIndex; metrics: ResponderMetrics; ready: boolean; server: RunningResponderServer; url: string };
  fixture.server = await startResponderServer({ address: "127.0.0.1:0", index, metrics, clock, logger: pino({ level: "silent" }), limits, ready: () => fixture.ready });
  fixture.url = `http://127.0.0.1:${fixture.server.port}`;
  return fixture;
}

/**
 * An OCSPRequest as OpenSSL's client writes it, for these certificates of
 * `ca` (several make one request with several CertIDs), in `digest`'s CertID.
 */
export async function opensslRequest(ca: TestCa, subjects: readonly Issued[], options: { digest?: "sha1" | "sha256"; nonce?: boolean } = {}): Promise<Buffer> {
  const out = join(ca.dir, `request-${Date.now()}-${Math.random().toString(16).slice(2)}.der`);
  await runOpenssl([
    "ocsp", "-issuer", ca.certPath, ...(options.digest === "sha256" ? ["-sha256"] : []),
    ...subjects.flatMap((subject) => ["-cert", subject.certPath]), ...(options.nonce === true ? [] : ["-no_nonce"]), "-reqout", out,
  ]);
  return readFile(out);
}
