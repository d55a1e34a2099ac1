// A load generator for bench/responder.ts, in its own (pinned) process: raw
// HTTP/1.1 over keep-alive sockets, one request in flight per connection,
// requests prepared in advance, so that the generator costs as little as it can
// per answer (node:http's or undici's client would cost more than the server
// being measured).
//   good <port> <staples.json> <connections> <warmupMs> <windowMs> <check|nocheck>:
//     random staples, SHA-1 or SHA-256 CertIDs, GET (RFC 5019, %-escaped base64)
//     or POST; reports answers/s, latency percentiles and, with `check`, every
//     answer compared byte for byte with the staple asked for.
//   flood <port> <staples.json> <connections>: garbage (random bytes POSTed,
//     random base64 GET paths, oversize bodies and URLs, cut requests, requests
//     for CertIDs no staple answers) until "stop"; reports what it sent.
import { randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { ascending, percentile } from "../soak/percentile.ts";
import type { StapleSet } from "./staple-set.ts";

const [mode = "", portText = "", dataPath = "", connectionsText = "64", warmupText = "1000", windowText = "5000", checkText = "check"] = process.argv.slice(2);
const port = Number(portText);
const set = JSON.parse(readFileSync(dataPath, "utf8")) as StapleSet;
const send = (message: unknown): void => { process.send?.(message); };

let stopped = false;

interface Outgoing { readonly bytes: Buffer; readonly expected?: Buffer; readonly sentAt?: number }

const get = (path: string): Buffer => Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, "latin1");
const post = (body: Buffer, declared = body.length): Buffer =>
  Buffer.concat([Buffer.from(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\nContent-Length: ${String(declared)}\r\n\r\n`, "latin1"), body]);
const getOf = (der: Buffer): Buffer => get(`/${encodeURIComponent(der.toString("base64"))}`);

/** One keep-alive connection, one request in flight; reconnects when the server closes it. */
class Connection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private inFlight: Outgoing | undefined;
  private readonly next: () => Outgoing | undefined;
  private readonly onAnswer: (status: number, body: Buffer, request: Outgoing) => void;
  private readonly onLost: (request: Outgoing | undefined) => void;

  constructor(next: () => Outgoing | undefined, onAnswer: (status: number, body: Buffer, request: Outgoing) => void, onLost: (request: Outgoing | undefined) => void) {
    this.next = next;
    this.onAnswer = onAnswer;
    this.onLost = onLost;
    this.open();
  }

  private open(): void {
    const socket = connect({ port, host: "127.0.0.1", noDelay: true });
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    socket.on("connect", () => { this.sendNext(); });
    socket.on("data", (chunk: Buffer) => { this.read(chunk); });
    socket.on("error", () => { /* a refused oversize request resets the socket: "close" follows */ });
    socket.on("close", () => {
      const lost = this.inFlight;
      this.inFlight = undefined;
      this.onLost(lost);
      if (!stopped) this.open();
    });
  }

  private sendNext(): void {
    const request = this.next();
    if (request === undefined) {
      this.socket?.end();
      return;
    }
    this.inFlight = { ...request, sentAt: performance.now() };
    this.socket?.write(request.bytes);
  }

  private read(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf("\r\n\r\n");
      if (headerEnd < 0) return;
      const head = this.buffer.toString("latin1", 0, headerEnd);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? "0");
      const total = headerEnd + 4 + length;
      if (this.buffer.length < total) return;
      const body = this.buffer.subarray(headerEnd + 4, total);
      this.buffer = this.buffer.subarray(total);
      const request = this.inFlight;
      this.inFlight = undefined;
      if (request !== undefined) this.onAnswer(Number(head.slice(9, 12)), body, request);
      if (!/\r\nconnection: *close/i.test(head)) this.sendNext();
    }
  }
}

if (mode === "good") {
  const check = checkText === "check";
  const staples = set.staples.map((entry) => ({ der: Buffer.from(entry.der, "base64"), requests: entry.requests.map((text) => Buffer.from(text, "base64")) }));
  // Every staple × {SHA-1, SHA-256} × {GET, POST}, prepared: the generator only picks one.
  const prepared = staples.flatMap(({ der, requests }) => requests.flatMap((request) => [{ bytes: getOf(request), expected: der }, { bytes: post(request), expected: der }]));
  const startAt = performance.now() + Number(warmupText);
  const endAt = startAt + Number(windowText);
  const latencies: number[] = [];
  let answers = 0;
  let mismatches = 0;
  let lost = 0;
  let mismatchSample = "";
  const next = (): Outgoing | undefined => (performance.now() >= endAt ? undefined : prepared[randomInt(prepared.length)]);
  const onAnswer = (status: number, body: Buffer, request: Outgoing): void => {
    const now = performance.now();
    if (check && (status !== 200 || request.expected === undefined || !body.equals(request.expected))) {
      mismatches++;
      if (mismatchSample === "") mismatchSample = `HTTP ${String(status)}, ${String(body.length)} bytes: ${body.subarray(0, 32).toString("hex")}`;
    }
    if (now >= startAt && now < endAt) {
      answers++;
      latencies.push(now - (request.sentAt ?? now));
    }
  };
  for (let i = 0; i < Number(connectionsText); i++) new Connection(next, onAnswer, (request) => { if (request !== undefined) lost++; });
  // The parent reads the server's CPU time at these two moments: answers per CPU-second do not depend on who else had the core.
  setTimeout(() => { send({ window: "start" }); }, startAt - performance.now());
  setTimeout(() => { send({ window: "end" }); }, endAt - performance.now());
  setTimeout(() => {
    stopped = true;
    const sorted = ascending(latencies);
    send({ answers, seconds: Number(windowText) / 1000, p50Ms: percentile(sorted, 50) ?? 0, p99Ms: percentile(sorted, 99) ?? 0, maxMs: sorted.at(-1) ?? 0, mismatches, mismatchSample, lost });
    setTimeout(() => { process.exit(0); }, 200);
  }, Number(warmupText) + Number(windowText) + 500);
} else if (mode === "flood") {
  const template = Buffer.from(set.staples[0]?.requests[0] ?? "", "base64");
  /** A well-formed request for a CertID no staple answers: the template's serial (its last bytes) randomised. */
  const unknown = (): Buffer => {
    const der = Buffer.from(template);
    randomBytes(8).copy(der, der.length - 8);
    der[der.length - 8] = (der[der.length - 8] ?? 0) & 0x7f;
    return der;
  };
  const kinds: readonly (() => Buffer)[] = [
    () => post(randomBytes(randomInt(1, 512))),
    () => get(`/${randomBytes(randomInt(1, 300)).toString("base64")}`),
    () => getOf(randomBytes(randomInt(1, 300))),
    () => post(randomBytes(20_000)),
    () => get(`/${"A".repeat(5000)}`),
    () => post(unknown().subarray(0, randomInt(1, template.length))),
    () => post(unknown()),
    () => getOf(unknown()),
  ];
  const byStatus = new Map<number, number>();
  let sent = 0;
  let closed = 0;
  const next = (): Outgoing | undefined => {
    if (stopped) return undefined;
    sent++;
    return { bytes: (kinds[randomInt(kinds.length)] ?? kinds[0] ?? (() => Buffer.alloc(0)))() };
  };
  const onAnswer = (status: number): void => { byStatus.set(status, (byStatus.get(status) ?? 0) + 1); };
  for (let i = 0; i < Number(connectionsText); i++) new Connection(next, onAnswer, () => { closed++; });
  process.on("message", (message) => {
    if (message !== "stop") return;
    stopped = true;
    send({ sent, byStatus: Object.fromEntries(byStatus), closed });
    setTimeout(() => { process.exit(0); }, 200);
  });
  send({ flooding: true });
} else {
  throw new Error(`load-process: unknown mode ${mode}`);
}
