// npm run bench (scale part): N TLS Secrets with distinct certificates on a real
// kube-apiserver, a local `openssl ocsp` responder, and `ocsp-stapler controller`
// as its own process. Prints the time from controller start until every Secret is
// stapled, OCSP requests per distinct certificate, API writes by kind, and the
// controller's peak RSS. BENCH_SECRETS sets N (default 1,000; 10,000 on request).
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { freePort } from "../test/support/free-port.ts";
import { KubeEnv } from "../test/support/kube-env.ts";
import { startOpensslResponder } from "../test/support/openssl-responder.ts";
import { createRootCa, goodEntry, type Issued } from "../test/support/pki.ts";
import { inParallel } from "./support/in-parallel.ts";
import { metric } from "./support/metrics-text.ts";

const N = Number(process.env.BENCH_SECRETS ?? "1000");
// The built CLI, as the container runs it (the sources would add Node's type stripper to the RSS).
const MAIN = fileURLToPath(new URL("../dist/cli/main.js", import.meta.url));
const RATE = process.env.BENCH_FETCH_RATE ?? "20";
const LABELS = { staple: "yes" };

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MiB`;

console.log(`ocsp-stapler scale benchmark: ${N.toLocaleString("en-US")} TLS Secrets, distinct certificates (Node ${process.version})\n`);
const env = await KubeEnv.start("default");
const ca = await createRootCa({ name: "scale", key: "p256" });
const port = await freePort();
let started = performance.now();
const leaves: Issued[] = [];
await inParallel(Array.from({ length: N }, (_, i) => i), 8, async (i) => { leaves.push(await ca.issue({ commonName: `site-${i}.example`, ocspUrl: `http://127.0.0.1:${port}/` })); });
const responder = await startOpensslResponder({ ca, indexPath: await ca.writeIndex(leaves.map(goodEntry)), port, nextUpdateDays: 7 });
await inParallel(leaves.map((leaf, i) => ({ leaf, i })), 16, ({ leaf, i }) => env.createTls(`site-${i}-tls`, leaf, ca, LABELS));
await env.applyConfig("all", { secretSelector: { matchLabels: LABELS } });
console.log(`set-up (certificates, Secrets): ${((performance.now() - started) / 1000).toFixed(1)} s`);

const metricsPort = await freePort();
started = performance.now();
const controller = spawn(process.execPath, [MAIN, "controller", "--kubeconfig", env.plane.kubeconfigPath, "--namespace", "default", "--metrics-addr", `127.0.0.1:${metricsPort}`, "--fetch-rate", RATE], { stdio: ["ignore", "ignore", "inherit"], env: { ...process.env, LOG_LEVEL: "warn", NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? "" } });
let stapled = 0;
while (stapled < N && performance.now() - started < 30 * 60_000) {
  await sleep(250);
  stapled = (await env.core.listNamespacedSecret({ namespace: "default", labelSelector: "app.kubernetes.io/managed-by=ocsp-stapler" })).items.length;
}
const seconds = (performance.now() - started) / 1000;
await sleep(2_000); // let status writes settle before counting
const metrics = await (await request(`http://127.0.0.1:${metricsPort}/metrics`)).body.text();
const peakRssKb = Number(/VmHWM:\s+(\d+)/.exec(await readFile(`/proc/${controller.pid ?? 0}/status`, "utf8"))?.[1] ?? "0");
const writes = ["companion", "status", "event", "delete"].map((kind) => [kind, metric(metrics, "ocsp_stapler_api_writes_total", `kind="${kind}"`)] as const);

const rows: [string, string][] = [
  ["Secrets stapled", `${stapled.toLocaleString("en-US")} of ${N.toLocaleString("en-US")}`],
  ["time to staple all", `${seconds.toFixed(1)} s (${(stapled / seconds).toFixed(0)} Secrets/s)`],
  ["OCSP requests", `${responder.requests.length.toLocaleString("en-US")} (${(responder.requests.length / N).toFixed(2)} per distinct certificate)`],
  ["API writes", writes.map(([kind, count]) => `${kind} ${count.toLocaleString("en-US")}`).join(", ")],
  ["controller peak RSS", `${(peakRssKb / 1024).toFixed(0)} MiB (now: heap ${mib(metric(metrics, "ocsp_stapler_nodejs_heap_size_used_bytes"))} used of ${mib(metric(metrics, "ocsp_stapler_nodejs_heap_size_total_bytes"))}, external ${mib(metric(metrics, "ocsp_stapler_nodejs_external_memory_bytes"))}, RSS ${mib(metric(metrics, "ocsp_stapler_process_resident_memory_bytes"))})`],
];
for (const [name, value] of rows) console.log(`${name.padEnd(22)}${value}`);
console.log(`\nFetches to one responder host are capped at ${RATE}/s (--fetch-rate; BENCH_FETCH_RATE here), which bounds the time:
the cap protects CAs' responders. openssl ocsp also answers one request at a time.`);

controller.kill("SIGTERM");
await new Promise((resolve) => controller.once("exit", resolve));
await responder.stop();
await env.stop();
await ca.cleanup();
