import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { findProgram, HAPROXY } from "./programs.ts";
import { stopProcess, waitListening } from "./server-process.ts";
import { makeTempDir, removeTempDir } from "./tmp.ts";

/** What HAProxy serves: PEMs it is given (written to its own dir), or a certificate file laid out elsewhere. */
export type HaproxyOptions = {
  /** PEM: the leaf, then the intermediates HAProxy should send. */
  readonly chainPem: string;
  readonly keyPem: string;
  /** DER staple written as `<crt>.ocsp` beside the certificate: what HAProxy staples from its start. */
  readonly staple?: Uint8Array;
} | {
  /** A certificate file with `<crt>.key` and, optionally, `<crt>.ocsp` beside it (e.g. in a Secret volume). */
  readonly crtPath: string;
};

export interface RunningHaproxy {
  readonly port: number;
  readonly dir: string;
  /** The runtime API socket, `level admin`. */
  readonly socketPath: string;
  /** The (only) HAProxy process: started with `-db`, no master, so a reload would need a new process. */
  readonly pid: number;
  readonly alive: () => boolean;
  readonly output: () => string;
  /**
   * A crash and a container restart: SIGKILL (the socket file stays behind,
   * as after a real crash), then the same configuration started again: a
   * new process, a new runtime API socket at the same path, the same port,
   * and whatever staple files are on disk. `pid` is the new process's after.
   */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Where Debian's haproxy is, or undefined when it is not installed. */
export function haproxyBinary(): string | undefined {
  return findProgram(HAPROXY);
}

/**
 * Starts a real HAProxy in the foreground (`-db`: one process, no daemon, no
 * master) on a free loopback port, with its own temp dir and a runtime API
 * socket at admin level, serving `site.pem` (chain and key) with
 * `site.pem.ocsp` beside it when a staple is given, or a certificate file laid
 * out elsewhere, with its `.key` and `.ocsp` beside it.
 */
export async function startHaproxy(options: HaproxyOptions): Promise<RunningHaproxy> {
  const binary = haproxyBinary();
  if (binary === undefined) throw new Error("haproxy is not installed (Debian: apt-get install haproxy)");
  const dir = await makeTempDir("haproxy");
  const socketPath = join(dir, "admin.sock");
  let crt: string;
  if ("crtPath" in options) {
    crt = options.crtPath;
  } else {
    crt = join(dir, "site.pem");
    await writeFile(crt, options.chainPem + options.keyPem);
    if (options.staple !== undefined) await writeFile(`${crt}.ocsp`, options.staple);
  }
  let output = "";
  const launch = async (port: number): Promise<ChildProcess | undefined> => {
    const child = spawn(binary, ["-db", "-f", join(dir, "haproxy.cfg")], { stdio: ["ignore", "pipe", "pipe"] });
    const collect = (chunk: Buffer): void => { output += chunk.toString(); };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    if (await waitListening(port, child) && child.pid !== undefined) return child;
    await stopProcess(child);
    return undefined;
  };
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    await writeFile(join(dir, "haproxy.cfg"), config(port, crt, socketPath));
    let child = await launch(port);
    if (child !== undefined) {
      const running = (): ChildProcess => child ?? assert.fail("HAProxy is not running");
      return {
        port, dir, socketPath, output: () => output,
        get pid() { return running().pid ?? 0; },
        alive: () => child !== undefined && child.exitCode === null && child.signalCode === null,
        restart: async () => {
          const old = running();
          const exited = new Promise((resolve) => old.once("exit", resolve));
          old.kill("SIGKILL");
          await exited;
          child = await launch(port);
          if (child === undefined) throw new Error(`haproxy did not start again: ${output}`);
        },
        stop: async () => { if (child !== undefined) await stopProcess(child); await removeTempDir(dir); },
      };
    }
    if (!output.includes("Address already in use") || attempt >= 3) {
      await removeTempDir(dir);
      throw new Error(`haproxy did not start: ${output}`);
    }
    output = "";
  }
}

function config(port: number, crt: string, socketPath: string): string {
  return `global
  stats socket ${socketPath} mode 600 level admin
  log stderr format raw local0 info

defaults
  mode http
  log global
  timeout connect 5s
  timeout client 30s
  timeout server 30s

frontend tls
  bind 127.0.0.1:${port} ssl crt ${crt}
  http-request return status 200 content-type text/plain string "stapled"
`;
}



