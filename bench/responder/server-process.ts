// One server for bench/responder.ts, in its own (pinned) process:
//   responder <staples.json>: startResponderServer over a StapleIndex filled as
//     the kube reflector fills it (servableStaple of each Secret's DER, with the
//     operator's cert-ids annotation as hints; index.set per Secret);
//   floor <bytes>: a bare node:http server answering every request with one
//     fixed buffer of that size (no parse, no lookup).
// Talks over IPC: sends { port, staples, setupSeconds, baseline } once listening
// (baseline: process.memoryUsage() after a full GC before any staple was read); answers
// "memory" with process.memoryUsage() after a full GC (needs --expose-gc) and
// "rss" with it as is, "cpu" with the process's CPU time (user + system); exits on "stop".
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { pino } from "pino";
import type { CertId } from "../../src/ocsp/cert-id.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { startResponderServer } from "../../src/responder/responder-server.ts";
import { ResponderMetrics } from "../../src/responder/responder-metrics.ts";
import { servableStaple } from "../../src/responder/servable-staple.ts";
import { StapleIndex } from "../../src/responder/staple-index.ts";
import type { StapleSet } from "./staple-set.ts";

const [mode, argument] = process.argv.slice(2);
const send = (message: unknown): void => { process.send?.(message); };
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc");
const afterGc = (): NodeJS.MemoryUsage => { gc(); gc(); return process.memoryUsage(); };
/** Before any staple is read: what the process costs with modules loaded, the heap the staples' bytes add to. */
const baseline = afterGc();
const started = performance.now();
let port: number;
let staples = 0;
let close: () => Promise<void>;

if (mode === "responder") {
  const set = JSON.parse(readFileSync(argument ?? "", "utf8")) as StapleSet;
  const index = new StapleIndex();
  const hashes = (["sha1", "sha256"] as const).map((hash) => ({ hash, nameHash: Buffer.from(set.issuer[hash].nameHash, "hex"), keyHash: Buffer.from(set.issuer[hash].keyHash, "hex") }));
  set.staples.forEach((entry, i) => {
    const certIds = hashes.map(({ hash, nameHash, keyHash }): CertId => ({ hashAlgorithm: hash, issuerNameHash: nameHash, issuerKeyHash: keyHash, serial: entry.serial }));
    const staple = servableStaple(Buffer.from(entry.der, "base64"), { certIds });
    if (staple === undefined) throw new Error(`staple ${String(i)} is not servable`);
    index.set(`companions/bench/site-${String(i)}-tls-ocsp`, [staple]);
  });
  staples = index.size;
  const server = await startResponderServer({
    address: "127.0.0.1:0", index, ready: () => true, clock: systemClock,
    metrics: new ResponderMetrics(() => index.size), logger: pino({ level: "silent" }),
  });
  port = server.port;
  close = () => server.close();
} else if (mode === "floor") {
  const body = Buffer.alloc(Number(argument), 0x30);
  const server = createServer({ requireHostHeader: false }, (_request, response) => {
    response.writeHead(200, { "content-type": "application/ocsp-response", "content-length": body.length }).end(body);
  });
  await new Promise<void>((resolve) => { server.listen(0, "127.0.0.1", resolve); });
  const address = server.address();
  port = typeof address === "object" && address !== null ? address.port : 0;
  close = () => new Promise((resolve) => { server.close(() => { resolve(); }); server.closeAllConnections(); });
} else {
  throw new Error(`server-process: unknown mode ${String(mode)}`);
}

process.on("message", (message) => {
  if (message === "memory") {
    send({ memory: afterGc() });
  } else if (message === "cpu") {
    const { user, system } = process.cpuUsage();
    send({ cpuSeconds: (user + system) / 1e6 });
  } else if (message === "rss") {
    send({ memory: process.memoryUsage() });
  } else if (message === "stop") {
    void close().then(() => { process.exit(0); });
  }
});
send({ port, staples, baseline, setupSeconds: (performance.now() - started) / 1000 });
