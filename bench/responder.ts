// npm run bench (responder part): `ocsp-stapler responder`'s HTTP server
// answering from BENCH_STAPLES (default 10,000) stored staples, distinct
// CertIDs, on one core; in the same run its floor: a bare node:http server on
// the same core answering every request with one fixed buffer of the same size.
// Both are driven by the same raw keep-alive load generator on the other core
// (random CertIDs, SHA-1 and SHA-256, GET and POST), over BENCH_SECONDS
// (default 5) after a second of warm-up, floor and responder alternating for
// BENCH_ROUNDS (default 3). Answers are counted per wall-clock second and per
// CPU-second of the server process (its CPU time over the window): the
// second is what one core of its own would serve, whoever else shares the
// machine's cores. Then a flood of garbage beside the
// good requests: the good answers' p99 with and without it, and the
// responder's heap after a full GC before, after one flood window and after a
// second (bounded = the second adds nothing). Every answer is compared with
// the staple asked for. BENCH_RESPONDER_NODE_OPTIONS (e.g. "--cpu-prof
// --cpu-prof-dir=/tmp/prof") is given to both server processes, after the
// chart's responder.nodeOptions (values.yaml), which they run with as a
// default install does (MALLOC_ARENA_MAX too).
// Prints figures only; nothing here passes or fails.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeStapleSet } from "./responder/staple-set.ts";

const STAPLES = Number(process.env.BENCH_STAPLES ?? "10000");
const SECONDS = Number(process.env.BENCH_SECONDS ?? "5");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? "3");
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? "64");
const CHART = await readFile(fileURLToPath(new URL("../charts/ocsp-stapler/values.yaml", import.meta.url)), "utf8");
// Both servers run as the chart runs the responder: its nodeOptions (heap caps) and MALLOC_ARENA_MAX.
const CHART_NODE_OPTIONS = responderValue("nodeOptions");
const CHART_ARENAS = responderValue("mallocArenaMax");
const SERVER_NODE_OPTIONS = `${CHART_NODE_OPTIONS} ${process.env.BENCH_RESPONDER_NODE_OPTIONS ?? ""}`.split(" ").filter((option) => option !== "");
const WARMUP_MS = 1000;
const GOAL = 10_000;
const TASKSET = spawnSync("taskset", ["-c", "0", "true"]).status === 0 && availableParallelism() >= 2;
const SERVER_CORE = "0";
const LOAD_CORE = "1";

interface Memory { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number }
interface LoadResult { answers: number; seconds: number; p50Ms: number; p99Ms: number; maxMs: number; mismatches: number; mismatchSample: string; lost: number }
interface Measured extends LoadResult { rate: number; cpuSeconds: number; perCpuSecond: number }
interface FloodResult { sent: number; byStatus: Record<string, number>; closed: number }

const here = import.meta.dirname;
const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;
const count = (value: number): string => Math.round(value).toLocaleString("en-US");
const ms = (value: number): string => `${value.toFixed(2)} ms`;

/** A string value of the chart's `responder:` block (two-space indented, quoted, on its own line); a changed layout fails loudly. */
function responderValue(name: string): string {
  const block = CHART.slice(CHART.search(/^responder:/m));
  const match = new RegExp(`^  ${name}:\\s*"([^"]*)"\\s*$`, "m").exec(block);
  if (match?.[1] === undefined) throw new Error(`no responder.${name}: "…" line in charts/ocsp-stapler/values.yaml`);
  return match[1];
}

/** A child node process, pinned to `core` when taskset works, with an IPC channel. */
function pinned(core: string, script: string, args: readonly string[], nodeOptions: readonly string[] = []): ChildProcess {
  const node = [...nodeOptions, join(here, "responder", script), ...args];
  const [command, argv] = TASKSET ? ["taskset", ["-c", core, process.execPath, ...node]] as const : [process.execPath, node] as const;
  const child = spawn(command, argv, { stdio: ["ignore", "inherit", "inherit", "ipc"], env: { ...process.env, ...(CHART_ARENAS === "" ? {} : { MALLOC_ARENA_MAX: CHART_ARENAS }) } });
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/** Every bench process still running: ended if the bench fails half-way, so none outlives it. */
const children = new Set<ChildProcess>();

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

type Server = Awaited<ReturnType<typeof startServer>>;

async function startServer(mode: "responder" | "floor", argument: string) {
  const child = pinned(SERVER_CORE, "server-process.ts", [mode, argument], ["--expose-gc", ...SERVER_NODE_OPTIONS]);
  const ready = await message<{ port: number; staples: number; setupSeconds: number; baseline: Memory }>(child, "port");
  const ask = async <T>(request: string, field: string): Promise<T> => {
    const reply = message<T>(child, field);
    child.send(request);
    return reply;
  };
  return {
    ...ready,
    memory: async (gc = true): Promise<Memory> => (await ask<{ memory: Memory }>(gc ? "memory" : "rss", "memory")).memory,
    cpuSeconds: async (): Promise<number> => (await ask<{ cpuSeconds: number }>("cpu", "cpuSeconds")).cpuSeconds,
    stop: async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.send("stop");
      await exited;
    },
  };
}

/** One window of good requests against `server`; with the server's CPU time over the window. */
async function goodLoad(server: Server, data: string, check: boolean): Promise<Measured> {
  const child = pinned(LOAD_CORE, "load-process.ts", ["good", String(server.port), data, String(CONNECTIONS), String(WARMUP_MS), String(SECONDS * 1000), check ? "check" : "nocheck"]);
  const cpu: Promise<number>[] = [];
  child.on("message", (value: unknown) => {
    if (typeof value === "object" && value !== null && "window" in value) cpu.push(server.cpuSeconds());
  });
  const result = await message<LoadResult>(child, "answers");
  const [start, end] = await Promise.all(cpu);
  const cpuSeconds = start === undefined || end === undefined ? Number.NaN : end - start;
  return { ...result, rate: result.answers / result.seconds, cpuSeconds, perCpuSecond: result.answers / cpuSeconds };
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

function report(label: string, result: Measured): Measured {
  console.log(`${label.padEnd(28)} ${count(result.rate).padStart(7)}/s  ${count(result.perCpuSecond).padStart(7)}/CPU-s  (${(100 * result.cpuSeconds / result.seconds).toFixed(0).padStart(3)}% of a core)  p50 ${ms(result.p50Ms).padStart(9)}  p99 ${ms(result.p99Ms).padStart(9)}  max ${ms(result.maxMs).padStart(9)}`);
  if (result.mismatches > 0) console.log(`\n!!! BUG: ${count(result.mismatches)} answers were not the staple asked for (first: ${result.mismatchSample}) !!!\n`);
  if (result.lost > 0) console.log(`!!! ${count(result.lost)} good requests lost to closed connections !!!`);
  return result;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};

const floodLine = (flood: FloodResult): string =>
  `${count(flood.sent)} garbage requests (${Object.entries(flood.byStatus).map(([status, n]) => `HTTP ${status}: ${count(n)}`).join(", ")}; ${count(flood.closed)} connections closed by the responder)`;

console.log(`ocsp-stapler responder benchmark (Node ${process.version}, ${count(STAPLES)} staples, ${String(SECONDS)} s windows after ${String(WARMUP_MS / 1000)} s warm-up, ${String(CONNECTIONS)} keep-alive connections)`);
console.log(`servers run with the chart's responder.nodeOptions "${CHART_NODE_OPTIONS}" and MALLOC_ARENA_MAX "${CHART_ARENAS}"${process.env.BENCH_RESPONDER_NODE_OPTIONS === undefined ? "" : `, plus "${process.env.BENCH_RESPONDER_NODE_OPTIONS}"`}`);
console.log(TASKSET ? `server pinned to core ${SERVER_CORE}, load generators to core ${LOAD_CORE} (taskset)` : "NOT PINNED: taskset is missing or there is one core; server and load share the machine");
const dir = await mkdtemp(join(tmpdir(), "ocsp-stapler-bench-responder-"));
try {
  const set = await writeStapleSet(STAPLES, dir);
  console.log(`staples: ${count(STAPLES)} made and signed in ${set.seconds.toFixed(1)} s (P-256 issuer, no certificates embedded, ${String(set.derBytes)} bytes; samples verified by the engine and by openssl)\n`);

  const floor = await startServer("floor", String(set.derBytes));
  const responder = await startServer("responder", set.path);
  console.log(`(responder process: ${count(responder.staples)} staples indexed in ${responder.setupSeconds.toFixed(1)} s)`);
  console.log("answers per second of wall time, per CPU-second of the server process (what one core of its own would serve), and latency at the generator;\nbeside a flood, the server's CPU serves the garbage too, and only good answers are counted");
  const before = await responder.memory();
  // Interleaved, so that a neighbour's burst on the shared machine hits both sides alike.
  const floors: Measured[] = [];
  const quiets: Measured[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    floors.push(report(`floor (fixed buffer), ${String(round)}`, await goodLoad(floor, set.path, false)));
    quiets.push(report(`responder, ${String(round)}`, await goodLoad(responder, set.path, true)));
  }
  await floor.stop();
  const afterGood = await responder.memory();

  const flood = await startFlood(responder.port, set.path);
  const noisy = report("responder, flood 1 beside", await goodLoad(responder, set.path, true));
  const firstPeak = await responder.memory(false);
  const first = await flood.stop();
  const afterFlood1 = await responder.memory();

  const second = await startFlood(responder.port, set.path);
  const noisy2 = report("responder, flood 2 beside", await goodLoad(responder, set.path, true));
  const secondPeak = await responder.memory(false);
  const secondResult = await second.stop();
  const afterFlood2 = await responder.memory();
  await responder.stop();

  const floorCpu = median(floors.map((m) => m.perCpuSecond));
  const responderCpu = median(quiets.map((m) => m.perCpuSecond));
  const floorWall = median(floors.map((m) => m.rate));
  const responderWall = median(quiets.map((m) => m.rate));
  console.log(`\nmedians of ${String(ROUNDS)}: responder ${count(responderCpu)}/CPU-s (${(1e6 / responderCpu).toFixed(0)} us of CPU per answer), floor ${count(floorCpu)}/CPU-s (${(1e6 / floorCpu).toFixed(0)} us): ratio ${(responderCpu / floorCpu).toFixed(2)}`);
  console.log(`            wall clock: responder ${count(responderWall)}/s, floor ${count(floorWall)}/s: ratio ${(responderWall / floorWall).toFixed(2)}; p99 responder ${ms(median(quiets.map((m) => m.p99Ms)))}, floor ${ms(median(floors.map((m) => m.p99Ms)))}`);
  console.log(`goal ≥ ${count(GOAL)} answers/s on one core: ${responderCpu >= GOAL ? "met" : "NOT MET"} (per CPU-second; ${responderWall >= GOAL ? "met" : "not met"} in wall-clock answers/s on this shared core)`);
  console.log(`good answers' p99 beside the garbage flood: ${ms(noisy.p99Ms)} and ${ms(noisy2.p99Ms)}, without it ${ms(median(quiets.map((m) => m.p99Ms)))} (the flood generator shares the load core with the good one)`);
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
  for (const child of children) child.kill();
  await rm(dir, { recursive: true, force: true });
}
