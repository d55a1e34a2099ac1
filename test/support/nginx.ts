import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { findProgram, NGINX } from "./programs.ts";
import { stopProcess, waitListening } from "./server-process.ts";
import { makeTempDir, removeTempDir } from "./tmp.ts";

export interface NginxOptions {
  /** PEM: the leaf, then the intermediates nginx should send. */
  readonly certPath: string;
  readonly keyPath: string;
  /** `ssl_stapling_file`: a DER staple read at configuration load. */
  readonly stapleFile?: string;
  /**
   * `ssl_stapling on` without a file: nginx's own lazy, per-worker fetching.
   * `responderUrl`: `ssl_stapling_responder` (instead of the AIA URL); an IP
   * URL needs no resolver. `trustedCertificate`: `ssl_trusted_certificate`
   * with `ssl_stapling_verify on`, so nginx staples only responses that
   * verify up to a certificate in that file.
   */
  readonly builtInStapling?: { readonly responderUrl?: string; readonly trustedCertificate?: string };
  readonly workers?: number;
}

export interface RunningNginx {
  readonly port: number;
  readonly dir: string;
  readonly errorLog: () => Promise<string>;
  stop(): Promise<void>;
}

/** Where Debian's nginx is, or undefined when it is not installed. */
export function nginxBinary(): string | undefined {
  return findProgram(NGINX);
}

/**
 * Starts a real nginx in the foreground on a free loopback port, with a
 * prefix, logs and temp paths of its own, so it needs no system set-up and
 * leaves nothing behind.
 */
export async function startNginx(options: NginxOptions): Promise<RunningNginx> {
  const binary = nginxBinary();
  if (binary === undefined) throw new Error("nginx is not installed (Debian: apt-get install nginx-light)");
  const dir = await makeTempDir("nginx");
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    await writeFile(join(dir, "nginx.conf"), config(dir, port, options));
    const child = spawn(binary, ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
    if (await waitListening(port, child)) {
      return { port, dir, errorLog: () => readLog(dir), stop: async () => { await stopProcess(child); await removeTempDir(dir); } };
    }
    await stopProcess(child);
    if (!stderr.includes("Address already in use") || attempt >= 3) {
      await removeTempDir(dir);
      throw new Error(`nginx did not start: ${stderr || (await readLog(dir))}`);
    }
  }
}

function config(dir: string, port: number, options: NginxOptions): string {
  const builtIn = options.builtInStapling;
  const stapling = options.stapleFile !== undefined
    ? `ssl_stapling on;\n    ssl_stapling_file ${options.stapleFile};`
    : builtIn !== undefined
      ? [
        "ssl_stapling on;",
        ...(builtIn.responderUrl === undefined ? [] : [`ssl_stapling_responder ${builtIn.responderUrl};`]),
        ...(builtIn.trustedCertificate === undefined ? [] : ["ssl_stapling_verify on;", `ssl_trusted_certificate ${builtIn.trustedCertificate};`]),
      ].join("\n    ")
      : "";
  return nginxConfig(dir, port, { ...options, stapling });
}

/**
 * An nginx.conf with everything (pid, logs, temp paths) under `dir`, one TLS
 * server on 127.0.0.1:port, and `stapling` (directives) in its server block.
 */
export function nginxConfig(dir: string, port: number, options: { certPath: string; keyPath: string; stapling: string; workers?: number | undefined }): string {
  return `daemon off;
master_process on;
worker_processes ${options.workers ?? 1};
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} info;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${join(dir, "body")};
  proxy_temp_path ${join(dir, "proxy")};
  fastcgi_temp_path ${join(dir, "fastcgi")};
  uwsgi_temp_path ${join(dir, "uwsgi")};
  scgi_temp_path ${join(dir, "scgi")};
  resolver 127.0.0.1 ipv6=off;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${options.certPath};
    ssl_certificate_key ${options.keyPath};
    ssl_protocols TLSv1.2 TLSv1.3;
    ${options.stapling}
    location / { return 200 "stapled\\n"; }
  }
}
`;
}




async function readLog(dir: string): Promise<string> {
  return readFile(join(dir, "error.log"), "utf8").catch(() => "");
}
