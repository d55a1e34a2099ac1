import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../../test/support/free-port.ts";
import { localGet } from "../../test/support/local-get.ts";
import { waitFor } from "../../test/support/wait-for.ts";

// The built CLI, as the container runs it (the sources would add Node's type stripper to the RSS).
const MAIN = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));
const SRC = fileURLToPath(new URL("../../src/", import.meta.url));

export interface ControllerProcess {
  readonly pid: number;
  readonly metricsUrl: string;
  readonly logPath: string;
  /** SIGTERM, then how it ended and how long that took. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null; seconds: number }>;
}

/**
 * Fails early when dist/ is missing or older than src/: a soak of stale code
 * would take half an hour to measure the wrong controller.
 */
export function assertBuilt(): void {
  let built: number;
  try {
    built = statSync(MAIN).mtimeMs;
  } catch {
    throw new Error(`${MAIN} is missing: run \`npm run build\` first`);
  }
  const newest = Math.max(...readdirSync(SRC, { recursive: true, encoding: "utf8" }).map((path) => statSync(join(SRC, path)).mtimeMs));
  if (newest > built) throw new Error(`dist/ is older than src/: run \`npm run build\` first`);
}

/** Starts `ocsp-stapler controller` as its own process, logs (warn and above) to `logPath`; resolves once /healthz answers. */
export async function startController(kubeconfigPath: string, logPath: string, fetchRate: string): Promise<ControllerProcess> {
  const port = await freePort();
  const log = openSync(logPath, "a");
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [MAIN, "controller", "--kubeconfig", kubeconfigPath, "--namespace", "default", "--metrics-addr", `127.0.0.1:${String(port)}`, "--fetch-rate", fetchRate], {
      stdio: ["ignore", log, log], env: { ...process.env, LOG_LEVEL: "warn", NODE_OPTIONS: process.env.SOAK_NODE_OPTIONS ?? "" },
    });
  } finally {
    closeSync(log);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => { resolve({ code, signal }); }));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`the controller exited (${String(child.exitCode)}):\n${await readFile(logPath, "utf8")}`);
    return (await localGet(port, "/healthz")).status === 200 ? true : undefined;
  }, "the controller's /healthz", 30_000);
  return {
    pid: child.pid ?? 0,
    metricsUrl: `http://127.0.0.1:${String(port)}/metrics`,
    logPath,
    stop: async () => {
      const started = performance.now();
      child.kill("SIGTERM");
      const how = await exited;
      return { ...how, seconds: (performance.now() - started) / 1000 };
    },
  };
}

/** Counts the controller's log lines by level and message ("warn: watch ended; reconnecting"), so a recurring warning shows. */
export async function logMessages(logPath: string): Promise<Record<string, number>> {
  const levels: Record<number, string> = { 40: "warn", 50: "error", 60: "fatal" };
  const counts: Record<string, number> = {};
  for (const line of (await readFile(logPath, "utf8")).split("\n")) {
    if (line === "") continue;
    let key = "not JSON (a crash trace?)";
    try {
      const parsed = JSON.parse(line) as { level?: number; msg?: string };
      key = `${levels[parsed.level ?? 0] ?? String(parsed.level)}: ${parsed.msg ?? ""}`;
    } catch { /* counted under the key above */ }
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
