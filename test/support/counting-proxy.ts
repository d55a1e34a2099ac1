/**
 * A tiny HTTP forwarder on 127.0.0.1 put between a server's own stapling and
 * an OCSP responder, so a test knows how many OCSP requests the server made
 * (whatever answers behind it, e.g. a responder that keeps no log), and can
 * make the responder look down, stalled or refusing without touching it.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/**
 * How the proxy answers: `forward` to the responder; `drop` closes the
 * connection without a byte (a responder that is down, as a server sees it);
 * `hang` never answers (a stalled responder; `close()` ends it);
 * `unauthorized` answers 200 with an OCSP error response, status
 * unauthorized (6), as a responder does for a certificate it does not serve.
 */
export type ProxyMode = "forward" | "drop" | "hang" | "unauthorized";

export interface ProxiedRequest {
  readonly method: string;
  /** The request target as the server sent it. */
  readonly target: string;
  /** Milliseconds since the proxy started. */
  readonly atMs: number;
  /** How it was answered. */
  readonly mode: ProxyMode;
}

export interface CountingProxy {
  /** `http://127.0.0.1:PORT/`: what the server is told is the responder. */
  readonly url: string;
  /** Every request that arrived, in order, however it was answered. */
  readonly requests: readonly ProxiedRequest[];
  /** How the next requests are answered; `forward` at first. */
  mode: ProxyMode;
  close(): Promise<void>;
}

/** OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED unauthorized(6) }. */
const UNAUTHORIZED = Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x06]);

/**
 * Counts every request and, in mode `forward`, passes it to `upstream` (its
 * path prefix, then the request target without its leading "/"), body and
 * answer as they are.
 */
export async function startCountingProxy(upstream: string): Promise<CountingProxy> {
  const base = new URL(upstream);
  const started = Date.now();
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const state: { mode: ProxyMode } = { mode: "forward" };
  const server = createServer((req, res) => {
    const mode = state.mode;
    requests.push({ method: req.method ?? "", target: req.url ?? "", atMs: Date.now() - started, mode });
    if (mode === "drop") {
      req.socket.destroy();
    } else if (mode === "unauthorized") {
      req.resume();
      res.writeHead(200, { "Content-Type": "application/ocsp-response", "Content-Length": UNAUTHORIZED.length });
      res.end(UNAUTHORIZED);
    } else if (mode === "forward") {
      forward(base, req, res);
    }
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  server.unref();
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}/`,
    requests,
    get mode() { return state.mode; },
    set mode(value: ProxyMode) { state.mode = value; },
    close: () => new Promise<void>((resolve) => {
      server.close(() => { resolve(); });
      for (const socket of sockets) socket.destroy();
    }),
  };
}

function forward(base: URL, req: IncomingMessage, res: ServerResponse): void {
  const prefix = base.pathname.endsWith("/") ? base.pathname : `${base.pathname}/`;
  const target = `${prefix}${(req.url ?? "/").replace(/^\//, "")}`;
  const headers = { ...req.headers, host: base.host };
  const upstream = request({ host: base.hostname, port: base.port, path: target, method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on("error", () => { req.socket.destroy(); });
  req.pipe(upstream);
}
