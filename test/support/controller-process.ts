import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./free-port.ts";
import { localGet } from "./local-get.ts";
import { sumSeries } from "./prometheus-text.ts";
import { waitFor } from "./wait-for.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/**
 * `ocsp-stapler controller` as a real process (the sources, through Node's
 * type stripping), with its JSON log lines collected for assertions.
 */
export class ControllerProcess {
  readonly child: ChildProcess;
  readonly metricsPort: number;
  output = "";
  private readonly exited: Promise<{ code: number | null; at: number }>;

  private constructor(child: ChildProcess, metricsPort: number) {
    this.child = child;
    this.metricsPort = metricsPort;
    child.stdout?.on("data", (chunk: Buffer) => { this.output += chunk.toString(); });
    child.stderr?.on("data", (chunk: Buffer) => { this.output += chunk.toString(); });
    this.exited = new Promise((resolve) => child.once("exit", (code) => { resolve({ code, at: performance.now() }); }));
  }

  static async start(kubeconfig: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<ControllerProcess> {
    const metricsPort = await freePort();
    const child = spawn(process.execPath, [MAIN, "controller", "--kubeconfig", kubeconfig, "--metrics-addr", `127.0.0.1:${String(metricsPort)}`, ...args], {
      stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, LOG_LEVEL: "debug", ...env },
    });
    return new ControllerProcess(child, metricsPort);
  }

  /** The parsed log lines whose message matches. */
  logs(message: RegExp): Record<string, unknown>[] {
    return this.output.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => typeof line.msg === "string" && message.test(line.msg));
  }

  /** Waits for a log line whose message matches, and returns it. */
  waitForLog(message: RegExp, seconds = 30): Promise<Record<string, unknown>> {
    return waitFor(() => Promise.resolve(this.logs(message)[0]), `a log line matching ${String(message)}; output:\n${this.output}`, seconds * 1000);
  }

  /** GET one of its health or metrics endpoints. */
  get(path: string): Promise<{ status: number; body: string }> {
    return localGet(this.metricsPort, path);
  }

  /** The sum of a series from its /metrics over the samples whose labels include `labels` (sumSeries). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return sumSeries((await this.get("/metrics")).body, name, labels);
  }

  /** Sends SIGTERM and resolves with the exit code and how long the exit took (ms); fails after `seconds`. */
  async terminate(seconds = 10): Promise<{ code: number | null; ms: number }> {
    const sent = performance.now();
    this.child.kill("SIGTERM");
    const result = await Promise.race([this.exited, new Promise<undefined>((resolve) => { setTimeout(() => { resolve(undefined); }, seconds * 1000).unref(); })]);
    if (result === undefined) {
      this.child.kill("SIGKILL");
      throw new Error(`still running ${String(seconds)} s after SIGTERM; output:\n${this.output}`);
    }
    return { code: result.code, ms: result.at - sent };
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}
