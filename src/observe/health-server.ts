import { createServer, type Server, type ServerResponse } from "node:http";
import type { Registry } from "prom-client";

export interface HealthSource {
  /** Ready once the caches have synced (and, with leader election, whether leading or not). */
  readonly ready: () => boolean;
  /** Why the process cannot recover by itself (a liveness probe should restart it), or undefined while it can. */
  readonly unhealthy?: () => string | undefined;
  readonly registry: Registry;
}

/**
 * `/healthz` (the process answers and can recover), `/readyz` (caches synced) and `/metrics`
 * on one port (DESIGN.md: `--metrics-addr`), for kubelet probes and
 * Prometheus.
 */
export async function startHealthServer(address: string, source: HealthSource): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const { host, port } = parseAddress(address);
  const server = createServer((request, response) => {
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      source.registry.metrics().then(
        (text) => { response.writeHead(200, { "content-type": source.registry.contentType }).end(text); },
        () => { end(response, 500, "metrics failed\n"); },
      );
    } else if (path === "/healthz") {
      const problem = source.unhealthy?.();
      if (problem === undefined) end(response, 200, "ok\n");
      else end(response, 503, `${problem}\n`);
    } else if (path === "/readyz") {
      if (source.ready()) end(response, 200, "ok\n");
      else end(response, 503, "caches not synced\n");
    } else {
      end(response, 404, "not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const bound = server.address();
  return {
    server,
    port: typeof bound === "object" && bound !== null ? bound.port : port,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => { resolve(); }); }),
  };
}

function end(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { "content-type": "text/plain" }).end(body);
}

/** ":8080", "0.0.0.0:8080", "127.0.0.1:0", "[::1]:8080". */
export function parseAddress(address: string): { host: string | undefined; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (match === null || port > 65535) throw new RangeError(`"${address}" is not an address such as :8080 or 127.0.0.1:8080`);
  const host = match[1] ?? match[2];
  return { host: host === "" || host === undefined ? undefined : host, port };
}
