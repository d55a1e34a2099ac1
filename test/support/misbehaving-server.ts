/**
 * A real HTTP server on 127.0.0.1 that misbehaves on purpose, so transport
 * tests exercise real sockets, real timing and real backpressure rather than
 * a mock's idea of them.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface RecordedRequest {
  readonly method: string;
  /** The request target as sent: a path, or an absolute URI when sent to a proxy. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
}

export interface RunningServer {
  /** `http://127.0.0.1:<port>/`. */
  readonly url: URL;
  /** Every request, in arrival order, recorded once its body has arrived. */
  readonly requests: RecordedRequest[];
  /** Stops listening and destroys every open connection, so tests end promptly. */
  close(): Promise<void>;
}

/** Starts a server on an ephemeral port; `handler` runs once the request body is in. */
export async function startServer(handler: Handler): Promise<RunningServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) });
      handler(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/`),
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens: a port that was just opened and closed. */
export async function refusedUrl(): Promise<URL> {
  const server = await startServer(respondWith(200, "text/plain", ""));
  await server.close();
  return server.url;
}

/** Answers normally. */
export function respondWith(status: number, contentType: string, body: string | Uint8Array): Handler {
  return (_req, res) => {
    const bytes = typeof body === "string" ? Buffer.from(body) : body;
    res.writeHead(status, { "Content-Type": contentType, "Content-Length": bytes.byteLength });
    res.end(bytes);
  };
}

/** Sends headers, then `bytesPerTick` bytes every `intervalMs`, forever, until the client goes. */
export function trickle(bytesPerTick: number, intervalMs: number): Handler {
  return (_req, res) => {
    res.writeHead(200, { "Content-Type": "application/ocsp-response" });
    res.flushHeaders();
    const timer = setInterval(() => res.write(Buffer.alloc(bytesPerTick, 0x30)), intervalMs);
    res.on("close", () => {
      clearInterval(timer);
    });
  };
}

export interface HugeBodyStats {
  /** Bytes handed to the socket so far (it accepts them only as the client reads). */
  bytesWritten: number;
  /** Whether the whole body was written. */
  finished: boolean;
}

export type HugeBodyHandler = Handler & { readonly stats: HugeBodyStats };

/**
 * Streams `totalBytes` with backpressure, with or without a Content-Length;
 * `stats` shows how far it got before the client hung up.
 */
export function hugeBody(totalBytes: number, options: { declareLength: boolean }): HugeBodyHandler {
  const stats: HugeBodyStats = { bytesWritten: 0, finished: false };
  const handler: Handler = (_req, res) => {
    const headers: Record<string, string | number> = { "Content-Type": "application/ocsp-response" };
    if (options.declareLength) headers["Content-Length"] = totalBytes;
    res.writeHead(200, headers);
    void writeWithBackpressure(res, totalBytes, stats);
  };
  return Object.assign(handler, { stats });
}

const CHUNK = Buffer.alloc(64 * 1024, 0x41);

async function writeWithBackpressure(res: ServerResponse, totalBytes: number, stats: HugeBodyStats): Promise<void> {
  while (stats.bytesWritten < totalBytes && !res.destroyed) {
    const chunk = CHUNK.subarray(0, Math.min(CHUNK.byteLength, totalBytes - stats.bytesWritten));
    stats.bytesWritten += chunk.byteLength;
    if (!res.write(chunk)) await drainOrClose(res);
  }
  if (res.destroyed) return;
  res.end();
  stats.finished = true;
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/**
 * Redirects `n` times (to `/hop/1`, `/hop/2`…, as relative Locations), then
 * lets `finalHandler` answer.
 */
export function redirectChain(n: number, finalHandler: Handler, status = 302): Handler {
  return (req, res) => {
    const hop = Number(/^\/hop\/(\d+)$/.exec(req.url ?? "")?.[1] ?? 0);
    if (hop >= n) {
      finalHandler(req, res);
      return;
    }
    res.writeHead(status, { Location: `/hop/${hop + 1}`, "Content-Length": 0 });
    res.end();
  };
}

/** Destroys the socket without answering. */
export function hangUp(): Handler {
  return (req) => {
    req.socket.destroy();
  };
}

/** Sends the headers and part of the promised body, then destroys the socket. */
export function hangUpMidBody(): Handler {
  return (req, res) => {
    res.writeHead(200, { "Content-Type": "application/ocsp-response", "Content-Length": 1000 });
    res.write(Buffer.alloc(10), () => {
      req.socket.destroy();
    });
  };
}

/** Accepts the request and never answers; `close()` cleans up. */
export function neverRespond(): Handler {
  return () => {
    // Deliberately silent.
  };
}
