import { spawn, type ChildProcess } from "node:child_process";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { pino, type Logger } from "pino";
import { probeTls } from "../../src/probe/tls-probe.ts";
import { localGet } from "./local-get.ts";
import { stopProcess } from "./server-process.ts";
import { waitFor } from "./wait-for.ts";
import { parseResponse } from "../../src/ocsp/response-parser.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

export type LogLine = Readonly<Record<string, unknown>>;

/** JSON log lines, as a reloader wrote them, with a way to wait for one. */
export class LogLines {
  readonly lines: LogLine[] = [];

  add(text: string): void {
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      try {
        this.lines.push(JSON.parse(line) as LogLine);
      } catch {
        this.lines.push({ msg: line, unparsed: true });
      }
    }
  }

  /** Resolves with the first line (at or after index `from`) that matches. */
  async waitFor(match: (line: LogLine) => boolean, what: string, from = 0, timeoutMs = 15_000): Promise<LogLine> {
    return waitFor(() => this.lines.slice(from).find(match), `a log line: ${what}\nlog so far:\n${this.dump()}`, timeoutMs);
  }

  dump(): string {
    return this.lines.map((line) => JSON.stringify(line)).join("\n");
  }
}

/** A pino logger writing into `LogLines`: the in-process reloader's logs, as the process would print them. */
export function capturingLogger(lines: LogLines): Logger {
  const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.add(chunk.toString()); done(); } });
  return pino({ level: "debug", base: { app: "ocsp-stapler" } }, sink);
}

export interface ReloaderProcess {
  readonly logs: LogLines;
  readonly metricsPort: number;
  readonly child: ChildProcess;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** `ocsp-stapler reloader ARGS` as a real process, metrics on a free port; resolves once it has synced once. */
export async function startReloaderProcess(args: readonly string[]): Promise<ReloaderProcess> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/_proxy$/i.test(key)));
  const child = spawn(process.execPath, [MAIN, "reloader", ...args, "--metrics-addr", "127.0.0.1:0"], { env: { ...base, LOG_LEVEL: "debug" }, stdio: ["ignore", "pipe", "pipe"] });
  const logs = new LogLines();
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => { logs.add(chunk.toString()); });
  child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
  const stop = (): Promise<void> => stopProcess(child);
  try {
    const started = await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`the reloader exited (${child.exitCode}): ${stderr}`);
      return logs.lines.find((line) => line.msg === "starting");
    }, "the reloader to start");
    const metricsPort = Number(started.metricsPort);
    await waitFor(async () => (await localGet(metricsPort, "/readyz")).status === 200 || undefined, "the first sync");
    return { logs, metricsPort, child, metrics: async () => (await localGet(metricsPort, "/metrics")).body, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The thisUpdate of the staple a TLS server sends now, or "none". */
export async function servedThisUpdate(port: number): Promise<string> {
  const served = await probeTls("127.0.0.1", port, "localhost", 10_000);
  if (served.staple === undefined) return "none";
  return parseResponse(served.staple).responses[0]?.thisUpdate.toISOString() ?? "empty";
}

/** The staple a TLS server sends now, byte for byte, or undefined. */
export async function servedStaple(port: number): Promise<Uint8Array | undefined> {
  return (await probeTls("127.0.0.1", port, "localhost", 10_000)).staple;
}

/** The value of one metric series in a Prometheus text exposition, or undefined. */
export function metricValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
