import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { freePort } from "../../test/support/free-port.ts";
import { localGet } from "../../test/support/local-get.ts";
import { waitFor } from "../../test/support/wait-for.ts";
import { heapAfterGc, writeHeapSnapshot } from "./inspector.ts";

// The built CLI, as the container runs it (the sources would add Node's type stripper to the RSS).
const MAIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const VALUES = fileURLToPath(new URL("../../charts/ocsp-stapler/values.yaml", import.meta.url));

/**
 * The chart's default `nodeOptions` (values.yaml), so the bench runs the
 * controller with the heap cap a default install gets. The value is one
 * quoted string on its own line; a changed layout fails loudly here.
 */
export async function chartNodeOptions(): Promise<string> {
  return chartValue("nodeOptions");
}

/** The chart's default `mallocArenaMax` (values.yaml): the controller's MALLOC_ARENA_MAX, as the chart sets it. */
export async function chartMallocArenaMax(): Promise<string> {
  return chartValue("mallocArenaMax");
}

async function arenaEnv(): Promise<Record<string, string>> {
  const arenas = await chartMallocArenaMax();
  return arenas === "" ? {} : { MALLOC_ARENA_MAX: arenas };
}

/** A top-level string value of values.yaml: one quoted string on its own line; a changed layout fails loudly here. */
async function chartValue(name: string): Promise<string> {
  const match = new RegExp(`^${name}:\\s*"([^"]*)"\\s*$`, "m").exec(await readFile(VALUES, "utf8"));
  if (match?.[1] === undefined) throw new Error(`no ${name}: "…" line in ${VALUES}`);
  return match[1];
}

export interface BenchController {
  readonly pid: number;
  /** Throws if the process has exited (an out-of-memory crash, say), so a wait on it fails at once. */
  assertRunning(): void;
  /** Its /metrics, /readyz. */
  get(path: string): Promise<{ status: number; body: string }>;
  /** CPU time it has used so far (user + system), from /proc/<pid>/stat. */
  cpuSeconds(): Promise<number>;
  /** Its peak resident set (VmHWM), in bytes. */
  peakRss(): Promise<number>;
  /** Its live heap after a full collection, in bytes (through its inspector). */
  heapAfterGc(): Promise<number>;
  /** Writes a heap snapshot to `path`. */
  writeHeapSnapshot(path: string): Promise<void>;
  /** SIGTERM, and wait for the exit. */
  stop(): Promise<void>;
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

/**
 * `ocsp-stapler controller` as its own process from the built dist/, with
 * `nodeOptions` in NODE_OPTIONS and `mallocArenaMax` in MALLOC_ARENA_MAX (as
 * the chart sets them) and its inspector on
 * loopback for heap readings; its log (warn and above) goes to `logPath`.
 * Resolves once it serves /healthz.
 */
export async function startBenchController(options: { kubeconfig: string; namespace: string; fetchRate: string; nodeOptions: string; logPath: string }): Promise<BenchController> {
  const [metricsPort, inspectPort] = [await freePort(), await freePort()];
  const log = openSync(options.logPath, "a");
  const child = spawn(process.execPath, [`--inspect=127.0.0.1:${String(inspectPort)}`, MAIN, "controller", "--kubeconfig", options.kubeconfig, "--namespace", options.namespace,
    "--metrics-addr", `127.0.0.1:${String(metricsPort)}`, "--fetch-rate", options.fetchRate], {
    stdio: ["ignore", log, log], env: { ...process.env, LOG_LEVEL: "warn", NODE_OPTIONS: options.nodeOptions, ...(await arenaEnv()) },
  });
  closeSync(log);
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const pid = child.pid ?? 0;
  const get = (path: string) => localGet(metricsPort, path);
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`the controller exited (${String(child.exitCode)}):\n${await readFile(options.logPath, "utf8")}`);
    return (await get("/healthz")).status === 200 ? true : undefined;
  }, "the controller's /healthz", 60_000, 100);
  return {
    pid,
    assertRunning: () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the controller exited (${String(child.exitCode ?? child.signalCode)}); its log: ${options.logPath}`);
    },
    get,
    cpuSeconds: async () => {
      // Fields after the command name, which is in parentheses and may hold spaces: utime is the 14th field, stime the 15th.
      const fields = (await readFile(`/proc/${String(pid)}/stat`, "utf8")).split(")").at(-1)?.trim().split(" ") ?? [];
      return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    },
    peakRss: async () => 1024 * Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${String(pid)}/status`, "utf8"))?.[1] ?? "0"),
    heapAfterGc: () => heapAfterGc(inspectPort),
    writeHeapSnapshot: (path) => writeHeapSnapshot(inspectPort, path),
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  };
}
