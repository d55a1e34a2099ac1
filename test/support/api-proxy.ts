import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ControlPlane } from "../control-plane/control-plane.ts";

/** What the proxy does with one request: pass it on, answer for the server, or hold it unanswered. */
export type ProxyVerdict =
  | { readonly kind: "forward" }
  | { readonly kind: "answer"; readonly status: number; readonly headers?: Record<string, string>; readonly body?: unknown }
  | { readonly kind: "hold" };

export interface SeenRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  /** When it arrived (performance.now(), comparable across proxies in one test process). */
  readonly at: number;
}

/**
 * A plain-HTTP proxy on loopback in front of the real kube-apiserver, for
 * the faults a real API server will not make on demand: 429 with
 * Retry-After, a request that never gets an answer, a watch cut mid-stream.
 * Clients reach it through its own kubeconfig (http, the admin token).
 */
export class ApiProxy {
  readonly seen: SeenRequest[] = [];
  /** Decides each request; forwards everything by default. */
  verdict: (request: SeenRequest) => ProxyVerdict = () => ({ kind: "forward" });

  /** The writes (anything but GET) it passed on, but those to Leases: what a controller changed in the cluster. */
  get writes(): SeenRequest[] {
    return this.seen.filter((request) => request.method !== "GET" && !request.url.includes("/leases"));
  }
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly plane: ControlPlane;
  private held: { request: IncomingMessage; response: ServerResponse; seen: SeenRequest }[] = [];

  private constructor(plane: ControlPlane) {
    this.plane = plane;
    this.server = createServer((request, response) => { this.handle(request, response); });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  static async start(plane: ControlPlane): Promise<ApiProxy> {
    const proxy = new ApiProxy(plane);
    await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get url(): string {
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === "object" && address !== null ? String(address.port) : "0"}`;
  }

  /** Writes a kubeconfig that reaches the API server through this proxy. */
  writeKubeconfig(dir: string): Promise<string> {
    return writePlainKubeconfig(dir, this.url, this.plane.token);
  }

  /** Ends every open connection (watches included), as a network cut would. */
  cutAll(): void {
    for (const socket of this.sockets) socket.destroy();
    this.held = [];
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => { this.server.close(() => { resolve(); }); });
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const seen = { method: request.method ?? "GET", url: request.url ?? "/", at: performance.now() };
    this.seen.push(seen);
    const verdict = this.verdict(seen);
    if (verdict.kind === "hold") {
      this.held.push({ request, response, seen });
      return;
    }
    if (verdict.kind === "answer") {
      response.writeHead(verdict.status, { "content-type": "application/json", ...verdict.headers }).end(JSON.stringify(verdict.body ?? {}));
      return;
    }
    this.forward(request, response, seen);
  }

  /** Passes every held request on to the API server after all (an answer that was only late). */
  releaseHeld(): void {
    const held = this.held;
    this.held = [];
    for (const { request, response, seen } of held) this.forward(request, response, seen);
  }

  private forward(request: IncomingMessage, response: ServerResponse, seen: SeenRequest): void {
    const upstream = new URL(this.plane.server);
    const outgoing = httpsRequest({
      host: upstream.hostname, port: upstream.port, method: seen.method, path: seen.url,
      headers: { ...request.headers, host: upstream.host }, ca: this.plane.caPem,
    }, (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    });
    outgoing.on("error", () => { response.destroy(); });
    response.on("close", () => { outgoing.destroy(); });
    if (request.readableEnded) outgoing.end();
    else request.pipe(outgoing);
  }
}

/** A kubeconfig for a plain-HTTP server URL with the admin token: this proxy, or a port that misbehaves. */
export async function writePlainKubeconfig(dir: string, server: string, token: string): Promise<string> {
  const path = join(dir, `kubeconfig-${new URL(server).port}`);
  await writeFile(path, JSON.stringify({
    apiVersion: "v1", kind: "Config", "current-context": "plain",
    // client-node refuses plain HTTP unless TLS verification is off (there is no TLS to verify).
    clusters: [{ name: "plain", cluster: { server, "insecure-skip-tls-verify": true } }],
    users: [{ name: "admin", user: { token } }],
    contexts: [{ name: "plain", context: { cluster: "plain", user: "admin" } }],
  }));
  return path;
}
