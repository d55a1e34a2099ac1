import { spawn, type ChildProcess } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { nginxBinary, nginxConfig } from "./nginx.ts";
import { stopProcess, waitListening } from "./server-process.ts";
import { makeTempDir, removeTempDir } from "./tmp.ts";

export interface IncludingNginxOptions {
  readonly certPath: string;
  readonly keyPath: string;
  /** The reloader's `--nginx-staple-dir`: the server block has `include <dir>/*.conf;`. */
  readonly stapleDir: string;
}

export interface IncludingNginx {
  readonly port: number;
  /** The master process (`daemon off`), which a graceful reload keeps. */
  readonly masterPid: number;
  readonly alive: () => boolean;
  stop(): Promise<void>;
}

export interface PreparedNginx {
  readonly dir: string;
  /** The pid file nginx writes: the reloader's `--nginx-pid-file`. */
  readonly pidFile: string;
  /** `nginx -t` for this prefix and configuration: the reloader's `--nginx-test-command`. */
  readonly testCommand: string;
  readonly errorLog: () => Promise<string>;
  /** Starts nginx (the configuration is written already, so the reloader can test it first). */
  start(): Promise<IncludingNginx>;
  /** Stops nginx if started and removes the directory. */
  cleanup(): Promise<void>;
}

/**
 * A real nginx (as test/support/nginx.ts starts one) whose server block
 * includes the reloader's snippets, the configuration the reloader's README
 * section prescribes: stapling is on only while a verified staple is there.
 * Prepared first, so a reloader can write its snippet (and test the
 * configuration) before nginx starts, as a Kubernetes sidecar started first does.
 */
export async function prepareIncludingNginx(options: IncludingNginxOptions): Promise<PreparedNginx> {
  const binary = nginxBinary();
  if (binary === undefined) throw new Error("nginx is not installed (Debian: apt-get install nginx-light)");
  const dir = await makeTempDir("nginx-include");
  const conf = join(dir, "nginx.conf");
  const flags = ["-p", dir, "-c", conf, "-e", join(dir, "error.log")];
  const errorLog = (): Promise<string> => readFile(join(dir, "error.log"), "utf8").catch(() => "");
  let port = await freePort();
  await writeFile(conf, config(dir, port, options));
  let running: ChildProcess | undefined;
  return {
    dir, pidFile: join(dir, "nginx.pid"), testCommand: [binary, "-t", ...flags].join(" "), errorLog,
    start: async () => {
      for (let attempt = 0; ; attempt++) {
        const child = spawn(binary, flags, { stdio: ["ignore", "ignore", "pipe"] });
        running = child;
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
        if (await waitListening(port, child) && child.pid !== undefined) {
          return { port, masterPid: child.pid, alive: () => child.exitCode === null && child.signalCode === null, stop: () => stopProcess(child) };
        }
        await stopProcess(child);
        if (!stderr.includes("Address already in use") || attempt >= 3) throw new Error(`nginx did not start: ${stderr || (await errorLog())}`);
        port = await freePort();
        await writeFile(conf, config(dir, port, options));
      }
    },
    cleanup: async () => {
      if (running !== undefined) await stopProcess(running);
      await removeTempDir(dir);
    },
  };
}

/** Stapling only through the reloader's snippets (the README's nginx.conf for the sidecar). */
function config(dir: string, port: number, options: IncludingNginxOptions): string {
  return nginxConfig(dir, port, { certPath: options.certPath, keyPath: options.keyPath, stapling: `include ${options.stapleDir}/*.conf;`, workers: 2 });
}
