// npm run bench (responder part): `ocsp-stapler responder`'s HTTP server
// answering from BENCH_STAPLES (default 10,000) stored staples, distinct
// CertIDs, on one core; in the same run its floor: a bare node:http server on
// the same core answering every request with one fixed buffer of the same size.
// Both are driven by the same raw keep-alive load generator on the other core
// (random CertIDs, SHA-1 and SHA-256, GET and POST), over BENCH_SECONDS
// (default 5) after a second of warm-up. Then a flood of garbage beside the
// good requests: the good answers' p99 with and without it, and the
// responder's heap after a full GC before, after one flood window and after a
// second (bounded = the second adds nothing). Every answer is compared with
// the staple asked for. BENCH_RESPONDER_NODE_OPTIONS (e.g. "--cpu-prof
// --cpu-prof-dir=/tmp/prof") is given to the responder process.
// Prints figures only; nothing here passes or fails.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { writeStapleSet } from "./responder/staple-set.ts";

const STAPLES = Number(process.env.BENCH_STAPLES ?? "10000");
const SECONDS = Number(process.env.BENCH_SECONDS ?? "5");
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? "64");
const RESPONDER_NODE_OPTIONS = (process.env.BENCH_RESPONDER_NODE_OPTIONS ?? "").split(" ").filter((option) => option !== "");
const WARMUP_MS = 1000;
const GOAL = 10_000;
const TASKSET = spawnSync("taskset", ["-c", "0", "true"]).status === 0 && availableParallelism() >= 2;
const SERVER_CORE = "0";
const LOAD_CORE = "1";

interface Memory { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }
interface LoadResult { answers: number; seconds: number; p50Ms: number; p99Ms: number; maxMs: number; mismatches: number; mismatchSample: string; lost: number }
interface FloodResult { sent: number; byStatus: Record<string, number>; closed: number }

const here = import.meta.dirname;
const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;
const count = (value: number): string => Math.round(value).toLocaleString("en-US");
const ms = (value: number): string => `${value.toFixed(2)} ms`;

/** A child node process, pinned to `core` when taskset works, with an IPC channel. */
function pinned(core: string, script: string, args: readonly string[], nodeOptions: readonly string[] = []): ChildProcess {
  const node = [...nodeOptions, join(here, "responder", script), ...args];
  const [command, argv] = TASKSET ? ["taskset", ["-c", core, process.execPath, ...node]] as const : [process.execPath, node] as const;
  return spawn(command, argv, { stdio: ["ignore", "inherit", "inherit", "ipc"] });
}

/** The child's next IPC message that has `field`. */
function message<T>(child: ChildProcess, field: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (value: unknown) => {
      if (typeof value === "object" && value !== null && field in value) {
        child.off("message", onMessage);
        child.off("exit", onExit);
        resolve(value as T);
      }
    };
    const onExit = (code: number | null) => { reject(new Error(`a bench process exited (${String(code)}) before sending "${field}"`)); };
    child.on("message", onMessage);
    child.once("exit", onExit);
  });
}

async function startServer(mode: "responder" | "floor", argument: string, nodeOptions: readonly string[] = []) {
  const child = pinned(SERVER_CORE, "server-process.ts", [mode, argument], ["--expose-gc", ...nodeOptions]);
  const ready = await message<{ port: number; staples: number; setupSeconds: number; baseline: Memory }>(child, "port");
  return {
    ...ready,
    memory: async (gc = true): Promise<Memory> => {
      const reply = message<{ memory: Memory }>(child, "memory");
      child.send(gc ? "memory" : "rss");
      return (await reply).memory;
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.send("stop");
      await exited;
    },
  };
}

function goodLoad(port: number, data: string, check: boolean): Promise<LoadResult> {
  const child = pinned(LOAD_CORE, "load-process.ts", ["good", String(port), data, String(CONNECTIONS), String(WARMUP_MS), String(SECONDS * 1000), check ? "check" : "nocheck"]);
  return message<LoadResult>(child, "answers");
}

async function startFlood(port: number, data: string) {
  const child = pinned(LOAD_CORE, "load-process.ts", ["flood", String(port), data, String(CONNECTIONS)]);
  await message(child, "flooding");
  return {
    stop: async (): Promise<FloodResult> => {
      const result = message<FloodResult>(child, "sent");
      child.send("stop");
      return result;
    },
  };
}

function report(label: string, result: LoadResult): number {
  const rate = result.answers / result.seconds;
  console.log(`${label.padEnd(30)} ${count(rate).padStart(8)} answers/s   p50 ${ms(result.p50Ms).padStart(9)}   p99 ${ms(result.p99Ms).padStart(9)}   max ${ms(result.maxMs).padStart(9)}`);
  if (result.mismatches > 0) console.log(`\n!!! BUG: ${count(result.mismatches)} answers were not the staple asked for (first: ${result.mismatchSample}) !!!\n`);
  if (result.lost > 0) console.log(`!!! ${count(result.lost)} good requests lost to closed connections !!!`);
  return rate;
}

const floodLine = (flood: FloodResult): string =>
  `${count(flood.sent)} garbage requests (${Object.entries(flood.byStatus).map(([status, n]) => `HTTP ${status}: ${count(n)}`).join(", ")}; ${count(flood.closed)} connections closed by the responder)`;

console.log(`ocsp-stapler responder benchmark (Node ${process.version}, ${count(STAPLES)} staples, ${String(SECONDS)} s windows after ${String(WARMUP_MS / 1000)} s warm-up, ${String(CONNECTIONS)} keep-alive connections)`);
console.log(TASKSET ? `server pinned to core ${SERVER_CORE}, load generators to core ${LOAD_CORE} (taskset)` : "NOT PINNED: taskset is missing or there is one core; server and load share the machine");
const dir = await mkdtemp(join(tmpdir(), "ocsp-stapler-bench-responder-"));
try {
  const set = await writeStapleSet(STAPLES, dir);
  console.log(`staples: ${count(STAPLES)} made and signed in ${set.seconds.toFixed(1)} s (P-256 issuer, no certificates embedded, ${String(set.derBytes)} bytes; samples verified by the engine and by openssl)\n`);

  const floor = await startServer("floor", String(set.derBytes));
  const floorRate = report("floor (fixed buffer)", await goodLoad(floor.port, set.path, false));
  await floor.stop();

  const responder = await startServer("responder", set.path, RESPONDER_NODE_OPTIONS);
  console.log(`(responder process: ${count(responder.staples)} staples indexed in ${responder.setupSeconds.toFixed(1)} s)`);
  const before = await responder.memory();
  const quiet = await goodLoad(responder.port, set.path, true);
  const rate = report("responder", quiet);
  const afterGood = await responder.memory();

  const flood = await startFlood(responder.port, set.path);
  const noisy = await goodLoad(responder.port, set.path, true);
  const firstPeak = await responder.memory(false);
  const first = await flood.stop();
  const afterFlood1 = await responder.memory();
  report("responder, flood beside it", noisy);

  const second = await startFlood(responder.port, set.path);
  await goodLoad(responder.port, set.path, true).then((result) => report("responder, second flood", result));
  const secondPeak = await responder.memory(false);
  const secondResult = await second.stop();
  const afterFlood2 = await responder.memory();
  await responder.stop();

  console.log(`\nresponder / floor: ${(rate / floorRate).toFixed(2)}   goal ≥ ${count(GOAL)} answers/s: ${rate >= GOAL ? "met" : "NOT MET"}   p99 ${ms(quiet.p99Ms)} quiet, ${ms(noisy.p99Ms)} beside the flood`);
  console.log(`flood 1: ${floodLine(first)}`);
  console.log(`flood 2: ${floodLine(secondResult)}`);
  console.log("\nresponder memory        rss          heapUsed     heapTotal    external+buffers");
  const row = (label: string, memory: Memory) => { console.log(`${label.padEnd(23)} ${mib(memory.rss).padEnd(12)} ${mib(memory.heapUsed).padEnd(12)} ${mib(memory.heapTotal).padEnd(12)} ${mib(memory.external + memory.arrayBuffers)}`); };
  row("no staples yet, GC", responder.baseline);
  row("staples indexed, GC", before);
  row("after good load, GC", afterGood);
  row("flood 1, under load", firstPeak);
  row("after flood 1, GC", afterFlood1);
  row("flood 2, under load", secondPeak);
  row("after flood 2, GC", afterFlood2);
  console.log(`heap per staple: ${count((before.heapUsed + before.external + before.arrayBuffers - responder.baseline.heapUsed - responder.baseline.external - responder.baseline.arrayBuffers) / Math.max(1, responder.staples))} bytes (heapUsed + external + buffers, indexed minus none; the DER itself is ${String(set.derBytes)})`);
  const growth = afterFlood2.heapUsed - afterFlood1.heapUsed;
  console.log(`heap after GC, flood 2 minus flood 1: ${(growth / 1024).toFixed(0)} KiB for ${count(secondResult.sent)} more garbage requests (${(growth / Math.max(1, secondResult.sent)).toFixed(2)} bytes each)`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
