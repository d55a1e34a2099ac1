import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { nginxBinary, nginxConfig } from "./nginx.ts";
import { stopProcess, waitListening } from "./server-process.ts";
import { makeTempDir, removeTempDir } from "./tmp.ts";
import { waitFor } from "./wait-for.ts";

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
  /**
   * A crash, as a container restart ends it: SIGKILL to the master and its
   * workers at once (a worker outlives a killed master and keeps the port),
   * resolved once none of them runs. The pid file stays behind, stale.
   */
  kill(): Promise<void>;
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
          const masterPid = child.pid;
          return { port, masterPid, alive: () => child.exitCode === null && child.signalCode === null, kill: () => killAll(child, masterPid), stop: () => stopProcess(child) };
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

/** SIGKILL to the master and every child of it; resolves once all are gone (or zombies: they hold no port). */
async function killAll(master: ChildProcess, masterPid: number): Promise<void> {
  const workers = childrenOf(masterPid);
  const exited = master.exitCode !== null || master.signalCode !== null ? Promise.resolve() : new Promise((resolve) => master.once("exit", resolve));
  for (const pid of [masterPid, ...workers]) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  await exited;
  await waitFor(() => workers.every((pid) => !running(pid)) || undefined, `nginx workers ${workers.join(", ")} to die`);
}

/** The pids whose parent is `parent` (Linux /proc). */
function childrenOf(parent: number): number[] {
  return readdirSync("/proc").filter((entry) => /^\d+$/.test(entry)).map(Number).filter((pid) => statOf(pid)?.ppid === parent);
}

function running(pid: number): boolean {
  const state = statOf(pid)?.state;
  return state !== undefined && state !== "Z" && state !== "X";
}

/** State and parent from /proc/<pid>/stat ("pid (comm) state ppid …"; comm may hold spaces). */
function statOf(pid: number): { state: string; ppid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    const [state = "", ppid = ""] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { state, ppid: Number(ppid) };
  } catch {
    return undefined;
  }
}
