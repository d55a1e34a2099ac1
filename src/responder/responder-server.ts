import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Clock } from "../ocsp/clock.ts";
import { parseRequest, type ParsedRequest } from "../ocsp/request-parser.ts";
import { parseAddress } from "../observe/health-server.ts";
import { requestFromGetPath } from "./get-request.ts";
import { cachingHeaders, notModified, UNCACHEABLE } from "./http-caching.ts";
import { answerRequest } from "./ocsp-answer.ts";
import { OCSP_ERROR_RESPONSE } from "./ocsp-error-response.ts";
import type { RequestResult, ResponderMetrics } from "./responder-metrics.ts";
import type { StapleIndex } from "./staple-index.ts";

/**
 * What one client may make the responder hold. OCSP requests are small
 * (one CertID is about 80 bytes; RFC 5019 GETs are at most 255), so the
 * caps are generous for honest clients and cheap against floods; the
 * timeouts close slow-loris connections that trickle headers or a body.
 */
export interface ResponderLimits {
  readonly maxUrlBytes: number;
  readonly maxBodyBytes: number;
  readonly maxHeaderBytes: number;
  /** Whole headers must arrive within this. */
  readonly headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this. */
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Connections held at once; more are refused by the kernel's accept, then closed. */
  readonly maxConnections: number;
}

export const DEFAULT_RESPONDER_LIMITS: ResponderLimits = {
  maxUrlBytes: 4096,
  maxBodyBytes: 16_384,
  maxHeaderBytes: 8192,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 2048,
};

export interface ResponderServerOptions {
  /** ":8080", "127.0.0.1:0". */
  readonly address: string;
  readonly index: StapleIndex;
  /** False until the staples have been read once: until then every request gets `tryLater`, not a false `unauthorized`. */
  readonly ready: () => boolean;
  readonly clock: Clock;
  readonly metrics: ResponderMetrics;
  readonly logger: Logger;
  readonly limits?: Partial<ResponderLimits>;
}

export interface RunningResponderServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The OCSP side of `ocsp-stapler responder` (RFC 6960 Appendix A, RFC 5019
 * §5): GET `{prefix}/{base64 request}` and POST of the DER request, answered
 * with `application/ocsp-response` from the staple index. OCSP errors
 * (unauthorized, malformedRequest) are HTTP 200 like every OCSP answer; HTTP
 * errors are only for what is not an OCSP request at all (a wrong method, a
 * request too large). Nothing a client sends is echoed back, and no answer
 * holds anything but a stored staple or a fixed text.
 */
export async function startResponderServer(options: ResponderServerOptions): Promise<RunningResponderServer> {
  const limits = { ...DEFAULT_RESPONDER_LIMITS, ...options.limits };
  const server = createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often the timeouts above are checked (Node's default is 30 s, which would let a slow client stay that long).
    connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
    // OCSP clients built on small HTTP/1.0 stacks (mod_ssl's, OpenSSL's) do not always send Host.
    requireHostHeader: false,
  }, (request, response) => {
    try {
      handle(request, response, options, limits);
    } catch (error) {
      // A bug must cost one answer, never the process and every other client's staple.
      options.logger.error({ err: error, method: request.method }, "answering an OCSP request failed");
      if (!response.headersSent) refuse(response, 500, "internal error\n");
      options.metrics.requests.inc({ method: request.method === "GET" || request.method === "POST" ? request.method : "other", result: "error" });
    }
  });
  server.maxConnections = limits.maxConnections;
  const { host, port } = parseAddress(options.address);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return { port: boundPort(server, port), close: () => closeServer(server) };
}

function handle(request: IncomingMessage, response: ServerResponse, options: ResponderServerOptions, limits: ResponderLimits): void {
  const method = request.method === "GET" || request.method === "POST" ? request.method : "other";
  const done = (result: RequestResult, startedAt: bigint) => {
    options.metrics.requests.inc({ method, result });
    options.metrics.seconds.observe({ method }, Number(process.hrtime.bigint() - startedAt) / 1e9);
  };
  if (method === "other") {
    refuse(response, 405, "only GET and POST carry OCSP requests\n", { allow: "GET, POST" });
    done("refused", process.hrtime.bigint());
  } else if ((request.url ?? "").length > limits.maxUrlBytes) {
    refuse(response, 414, `the URL is longer than ${limits.maxUrlBytes} bytes\n`);
    done("refused", process.hrtime.bigint());
  } else if (method === "GET") {
    const startedAt = process.hrtime.bigint();
    done(answer(requestFromGetPath(request.url ?? "/"), request, response, options), startedAt);
  } else {
    readBody(request, limits.maxBodyBytes).then((body) => {
      const startedAt = process.hrtime.bigint();
      if (body === undefined) {
        refuse(response, 413, `the request body is larger than ${limits.maxBodyBytes} bytes\n`, { connection: "close" });
        done("refused", startedAt);
      } else {
        done(answer(parseRequest(body), request, response, options), startedAt);
      }
    }).catch((error: unknown) => {
      // The client went away mid-body (an error from its socket), or answering failed: one connection lost, no more.
      options.logger.debug({ err: error }, "POST request abandoned");
      request.socket.destroy();
    });
  }
}

/** Looks the request up and writes the answer; returns how it ended. */
function answer(parsed: ParsedRequest | undefined, request: IncomingMessage, response: ServerResponse, options: ResponderServerOptions): RequestResult {
  if (!options.ready()) return answerError(response, "try_later", OCSP_ERROR_RESPONSE.tryLater);
  const nowMs = options.clock.now().getTime();
  const found = answerRequest(parsed, options.index, nowMs);
  if (found.kind !== "staple") {
    return answerError(response, found.kind, found.kind === "unauthorized" ? OCSP_ERROR_RESPONSE.unauthorized : OCSP_ERROR_RESPONSE.malformedRequest);
  }
  const headers = cachingHeaders(found.staple, nowMs);
  if (request.method === "GET" && notModified(request.headers, found.staple)) {
    response.writeHead(304, headers).end();
    return "not_modified";
  }
  response.writeHead(200, { "content-type": "application/ocsp-response", "content-length": found.staple.der.length, ...headers }).end(found.staple.der);
  return "staple";
}

/** An OCSP error status: HTTP 200 like every OCSP answer, and never cached. */
function answerError<R extends RequestResult>(response: ServerResponse, result: R, body: Buffer): R {
  response.writeHead(200, { "content-type": "application/ocsp-response", "content-length": body.length, ...UNCACHEABLE }).end(body);
  return result;
}

/** The body, or undefined once it passes `maxBytes` (the rest is not read). */
function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(request.headers["content-length"] ?? 0);
  if (declared > maxBytes) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on("data", (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBytes) {
        request.removeAllListeners("data");
        request.pause();
        resolve(undefined);
      } else {
        chunks.push(chunk);
      }
    });
    request.on("end", () => { resolve(Buffer.concat(chunks)); });
    request.on("error", reject);
  });
}

function refuse(response: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  response.writeHead(status, { "content-type": "text/plain", "content-length": Buffer.byteLength(text), ...UNCACHEABLE, ...extra }).end(text);
  // A request refused before its body was read would otherwise leave the body to be drained.
  if (extra.connection === "close") response.on("finish", () => { response.socket?.destroySoon(); });
}

function boundPort(server: Server, requested: number): number {
  const bound = server.address();
  return typeof bound === "object" && bound !== null ? bound.port : requested;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => { resolve(); });
    server.closeAllConnections();
  });
}
