// npm run bench (scale part): N TLS Secrets with distinct certificates on a real
// kube-apiserver, a local `openssl ocsp` responder, and `ocsp-stapler controller`
// as its own process with the chart's default nodeOptions. In the same run, a bare
// client applies N companion-sized Secrets to the same API server: the floor the
// controller's time is compared with. Then 60 s of steady state, and a restart.
// BENCH_SECRETS is a size or a list of sizes ("1000,10000"): one table row each.
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeEnv, conditionOf } from "../test/support/kube-env.ts";
import { freePort } from "../test/support/free-port.ts";
import { makeOfflineResponse } from "../test/support/offline-response.ts";
import { startOpensslResponder } from "../test/support/openssl-responder.ts";
import { createRootCa, goodEntry, type Issued } from "../test/support/pki.ts";
import { sumSeries } from "../test/support/prometheus-text.ts";
import { waitFor } from "../test/support/wait-for.ts";
import { inParallel } from "./support/in-parallel.ts";
import { countRequests, requestsBetween, type RequestCounts } from "../test/support/apiserver-requests.ts";
import { CompanionWatch } from "./scale/companion-watch.ts";
import { chartMallocArenaMax, chartNodeOptions, startBenchController, type BenchController } from "./scale/controller-process.ts";
import { measureFloor } from "./scale/floor.ts";

const SIZES = (process.env.BENCH_SECRETS ?? "1000").split(",").map((size) => Number(size.trim()));
// Uncapped (the CLI's maximum), so the bench measures the controller, not the politeness cap that protects CAs.
const RATE = process.env.BENCH_FETCH_RATE ?? "10000";
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? "60");
const NODE_OPTIONS = `${await chartNodeOptions()} ${process.env.BENCH_NODE_OPTIONS ?? ""}`.trim();
// A directory for a heap snapshot of the controller once everything is stapled (see docs/scale.md).
const HEAP_SNAPSHOT_DIR = process.env.BENCH_HEAP_SNAPSHOT;
const LABELS = { staple: "yes" };
const CONFIG = "all";

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MiB`;
const count = (value: number): string => value.toLocaleString("en-US");
const since = (start: number): number => (performance.now() - start) / 1000;

interface Row {
  secrets: number; seconds: number; floor: number; peakRss: number; heapPerSecret: number; ocspPerCert: number;
  secretWrites: number; secretGets: number; steadyWrites: number; steadyCpu: number;
  restartOcsp: number; restartWrites: number; restartReady: number;
}

console.log(`ocsp-stapler scale benchmark (Node ${process.version}); controller NODE_OPTIONS "${NODE_OPTIONS}", MALLOC_ARENA_MAX "${await chartMallocArenaMax()}", --fetch-rate ${RATE}`);
const rows: Row[] = [];
for (const size of SIZES) rows.push(await run(size));

console.log("\n| Secrets | staple all | floor | ratio | peak RSS | heap/Secret | OCSP/cert | Secret writes | Secret GETs | steady writes | steady CPU | restart: OCSP | writes | all Ready |");
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const row of rows) {
  console.log(`| ${count(row.secrets)} | ${row.seconds.toFixed(1)} s | ${row.floor.toFixed(1)} s | ${(row.seconds / row.floor).toFixed(1)}× | ${mib(row.peakRss)} | ${(row.heapPerSecret / 1024).toFixed(1)} KiB | ${row.ocspPerCert.toFixed(3)} | ${count(row.secretWrites)} | ${count(row.secretGets)} | ${count(row.steadyWrites)} | ${(row.steadyCpu * 100).toFixed(2)}% | ${count(row.restartOcsp)} | ${count(row.restartWrites)} | ${row.restartReady.toFixed(1)} s |`);
}

async function run(n: number): Promise<Row> {
  console.log(`\n## ${count(n)} TLS Secrets, distinct certificates`);
  const env = await KubeEnv.start("default");
  const logPath = join(tmpdir(), `ocsp-stapler-bench-${String(n)}.log`);
  await writeFile(logPath, "");
  const start = () => startBenchController({ kubeconfig: env.plane.kubeconfigPath, namespace: "default", fetchRate: RATE, nodeOptions: NODE_OPTIONS, logPath });

  // The idle heap, before anything is selected: what a Secret costs is the rest, divided by N.
  const idle = await start();
  await waitFor(async () => ((await idle.get("/readyz")).status === 200 ? true : undefined), "the idle controller's /readyz", 60_000, 100);
  const idleHeap = await idle.heapAfterGc();
  await idle.stop();

  let started = performance.now();
  const ca = await createRootCa({ name: "scale", key: "p256" });
  const port = await freePort();
  const leaves: Issued[] = [];
  await inParallel(Array.from({ length: n }, (_, i) => i), 8, async (i) => { leaves.push(await ca.issue({ commonName: `site-${String(i)}.example`, ocspUrl: `http://127.0.0.1:${String(port)}/` })); });
  const index = await ca.writeIndex(leaves.map(goodEntry));
  const responder = await startOpensslResponder({ ca, indexPath: index, port, nextUpdateDays: 7 });
  await inParallel(leaves.map((leaf, i) => ({ leaf, i })), 16, ({ leaf, i }) => env.createTls(`site-${String(i)}-tls`, leaf, ca, LABELS));
  await env.applyConfig(CONFIG, { secretSelector: { matchLabels: LABELS } });
  console.log(`set-up (certificates, Secrets): ${since(started).toFixed(1)} s; controller log: ${logPath}`);

  // The floor: the same bytes a companion holds (a real staple from this CA, annotations of the same length).
  const sample = leaves[0] as Issued;
  const now = new Date().toISOString();
  const floor = await measureFloor(env.plane, env.core, n, {
    staple: await makeOfflineResponse({ subject: sample, ca, index, noCerts: true }),
    annotations: {
      "ocsp-stapler.io/cert-status": "good", "ocsp-stapler.io/this-update": now, "ocsp-stapler.io/next-update": now,
      "ocsp-stapler.io/responder": `http://127.0.0.1:${String(port)}/`, "ocsp-stapler.io/serial": sample.serialHex, "ocsp-stapler.io/cert-sha256": "0".repeat(64),
    },
  });
  console.log(`floor: a bare client applies ${count(n)} companion-sized Secrets, 8 at a time, in ${floor.toFixed(1)} s`);

  // Staple everything, from a cold start.
  const watch = await CompanionWatch.start(env.kubeConfig, "default");
  const requestsBefore = await countRequests(env.plane);
  const ocspBefore = responder.requests.length;
  started = performance.now();
  let controller = await start();
  await waitFor(() => {
    controller.assertRunning();
    return watch.count >= n ? true : undefined;
  }, `${count(n)} companions`, 30 * 60_000, 250);
  const seconds = since(started);
  const cpuToStaple = await controller.cpuSeconds();
  console.log(`stapled all ${count(n)} in ${seconds.toFixed(1)} s (${(seconds / floor).toFixed(1)}× the floor; ${(n / seconds).toFixed(0)} Secrets/s; controller CPU ${cpuToStaple.toFixed(1)} s)`);
  const statusStarted = performance.now();
  await waitFor(async () => (readyFor(n, await env.statusOf(CONFIG)) ? true : undefined), "the StapleConfig's status to say Ready", 120_000, 500);
  console.log(`StapleConfig Ready ${since(statusStarted).toFixed(1)} s after the last companion`);
  await sleep(2_000); // the status write is gathered for a second
  const peakRss = await controller.peakRss();
  const heap = await controller.heapAfterGc();
  if (HEAP_SNAPSHOT_DIR !== undefined) await controller.writeHeapSnapshot(join(HEAP_SNAPSHOT_DIR, `controller-${String(n)}.heapsnapshot`));
  const coldRequests = requestsBetween(requestsBefore, await countRequests(env.plane));
  const ocsp = responder.requests.length - ocspBefore;
  const metrics = (await controller.get("/metrics")).body;
  console.log(`OCSP requests ${count(ocsp)} (${(ocsp / n).toFixed(3)} per certificate); the controller counted ${count(sumSeries(metrics, "ocsp_stapler_fetch_total"))} fetches, not good: ${fetchFailures(metrics)}`);
  console.log(`API server saw: ${writesOf(coldRequests)}`);
  console.log(`peak RSS ${mib(peakRss)}; heap after GC ${mib(heap)} (idle ${mib(idleHeap)}): ${((heap - idleHeap) / n / 1024).toFixed(1)} KiB per Secret`);

  const steady = await steadyState(env, controller);
  console.log(`steady state, ${String(STEADY_SECONDS)} s: ${writesOf(steady.requests)}, ${(steady.cpu * 100).toFixed(2)}% of a core`);

  // A restart: the staples in place are valid, so nothing should be fetched or written.
  await controller.stop();
  const restartBefore = await countRequests(env.plane);
  const ocspBeforeRestart = responder.requests.length;
  controller = await start();
  const restartReady = await allKnownAndReady(env, controller, n);
  await sleep(3_000); // anything the restart would write has had its chance
  const restart = requestsBetween(restartBefore, await countRequests(env.plane));
  const restartOcsp = responder.requests.length - ocspBeforeRestart;
  console.log(`restart: every staple known and the StapleConfig Ready after ${restartReady.toFixed(1)} s; OCSP requests ${count(restartOcsp)}; ${writesOf(restart)}; peak RSS ${mib(await controller.peakRss())}`);

  await controller.stop();
  watch.stop();
  await responder.stop();
  await env.stop();
  await ca.cleanup();
  return {
    secrets: n, seconds, floor, peakRss, heapPerSecret: (heap - idleHeap) / n, ocspPerCert: ocsp / n,
    secretWrites: coldRequests.secretWrites, secretGets: coldRequests.secretGets, steadyWrites: steady.requests.allWrites, steadyCpu: steady.cpu,
    restartOcsp, restartWrites: restart.allWrites, restartReady,
  };
}

/** API writes and the share of one core the controller uses while nothing changes. */
async function steadyState(env: KubeEnv, controller: BenchController): Promise<{ requests: RequestCounts; cpu: number }> {
  const before = await countRequests(env.plane);
  const cpuBefore = await controller.cpuSeconds();
  await sleep(STEADY_SECONDS * 1000);
  const cpu = (await controller.cpuSeconds()) - cpuBefore;
  return { requests: requestsBetween(before, await countRequests(env.plane)), cpu: cpu / STEADY_SECONDS };
}

/**
 * Seconds from start until the controller has looked at every Secret (its
 * staple gauge counts N good ones: each staple in place verified) and the
 * StapleConfig's stored status says Ready for all N.
 */
async function allKnownAndReady(env: KubeEnv, controller: BenchController, n: number): Promise<number> {
  const started = performance.now();
  await waitFor(async () => {
    controller.assertRunning();
    const good = sumSeries((await controller.get("/metrics")).body, "ocsp_stapler_cert_status", { status: "good" });
    return good >= n && readyFor(n, await env.statusOf(CONFIG)) ? true : undefined;
  }, "every staple known after the restart", 10 * 60_000, 250);
  return since(started);
}

function writesOf(requests: RequestCounts): string {
  return `API writes ${count(requests.allWrites)} (Secrets ${count(requests.secretWrites)}, StapleConfig status ${count(requests.statusWrites)}, Events ${count(requests.eventWrites)}), Secret GETs ${count(requests.secretGets)}`;
}

function readyFor(n: number, status: Awaited<ReturnType<KubeEnv["statusOf"]>>): boolean {
  return status?.stapled === n && conditionOf(status, "Ready")?.status === "True";
}

/** Fetches that did not end in a good answer, by result: where extra OCSP requests come from. */
function fetchFailures(metrics: string): string {
  const results = new Map<string, number>();
  for (const match of metrics.matchAll(/^ocsp_stapler_fetch_total\{[^}]*result="([^"]+)"[^}]*\} (\S+)$/gm)) {
    if (match[1] !== "good") results.set(match[1] ?? "", (results.get(match[1] ?? "") ?? 0) + Number(match[2]));
  }
  return results.size === 0 ? "none" : [...results].map(([result, value]) => `${result} ${count(value)}`).join(", ");
}
