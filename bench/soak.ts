// npm run soak: SOAK_SECRETS (default 1,000) TLS Secrets with distinct certificates
// on a real kube-apiserver, a local `openssl ocsp` whose responses are valid
// SOAK_VALIDITY_MINUTES (default 2), a StapleConfig refreshing at half of that,
// and `ocsp-stapler controller` as its own process (the built dist/: run
// `npm run build` first). After the warm-up (every Secret stapled) it runs
// SOAK_MINUTES (default 30) more, sampling every SOAK_SAMPLE_SECONDS (default 5)
// from the outside: the companion Secrets' staple ages and time left, Secrets
// without a staple, expired staples (there must be none), CA requests, API
// writes and the controller's RSS. Prints a table per refresh cycle and a
// summary, and writes them with a plot to SOAK_OUT (default docs/soak/).
// Exits 1 if an expired staple was seen or a Secret lost its staple.
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { LABEL } from "../src/kube/metadata-keys.ts";
import { assertBuilt, logMessages, startController } from "./soak/controller-process.ts";
import { cycleRows, summarise } from "./soak/cycles.ts";
import { startFleet } from "./soak/fleet.ts";
import { plotSoak } from "./soak/plot.ts";
import { cycleTable, heading, summaryLines, type SoakSetup } from "./soak/report.ts";
import { Sampler, type Sample } from "./soak/sampler.ts";

const SECRETS = Number(process.env.SOAK_SECRETS ?? "1000");
const MINUTES = Number(process.env.SOAK_MINUTES ?? "30");
const VALIDITY_MINUTES = Number(process.env.SOAK_VALIDITY_MINUTES ?? "2");
const SAMPLE_S = Number(process.env.SOAK_SAMPLE_SECONDS ?? "5");
const FETCH_RATE = process.env.SOAK_FETCH_RATE ?? "20";
const OUT = process.env.SOAK_OUT ?? fileURLToPath(new URL("../docs/soak/", import.meta.url));
const FRACTION = 0.5;
// Past this, the warm-up is declared over anyway and the missing staples are reported.
const WARM_UP_LIMIT_S = 10 * 60;

// openssl's -nmin takes whole minutes, and minInterval's floor (1m) must fit in half the validity.
if (!Number.isInteger(VALIDITY_MINUTES) || VALIDITY_MINUTES < 2) throw new Error("SOAK_VALIDITY_MINUTES must be a whole number, at least 2");
assertBuilt();
const cycleS = VALIDITY_MINUTES * 60 * FRACTION;
const startedAt = new Date();

console.log(`soak: setting up ${SECRETS.toLocaleString("en-US")} TLS Secrets…`);
const fleet = await startFleet({ secrets: SECRETS, validityMinutes: VALIDITY_MINUTES, fraction: FRACTION });
const logPath = join(await mkdtemp(join(tmpdir(), "ocsp-stapler-soak-")), "controller.log");
const controller = await startController(fleet.env.plane.kubeconfigPath, logPath, FETCH_RATE);
const controllerStartedAt = Date.now();
const sampler = new Sampler({
  selected: SECRETS,
  listCompanions: async () => (await fleet.env.core.listNamespacedSecret({ namespace: "default", labelSelector: `${LABEL.managedBy}=ocsp-stapler` })).items,
  metricsUrl: controller.metricsUrl,
  controllerPid: controller.pid,
  caRequests: () => fleet.responder.requests.length,
  startedAt: controllerStartedAt,
});
console.log(`soak: controller pid ${String(controller.pid)} started; its log and the samples go to ${dirname(logPath)}; ${String(MINUTES)} min after the warm-up`);

const samples = await sampleUntilDone();
const stopped = await controller.stop();
const logged = await logMessages(logPath);
const events = await fleet.countEvents();
await fleet.stop();
await writeFile(join(dirname(logPath), "samples.json"), JSON.stringify(samples));

const warmUpS = warmUpEnd(samples);
const setup: SoakSetup = { selected: SECRETS, validityS: VALIDITY_MINUTES * 60, fraction: FRACTION, cycleS, sampleS: SAMPLE_S, fetchRate: FETCH_RATE, warmUpS, startedAt };
const rows = cycleRows(samples, warmUpS, cycleS, SECRETS);
const summary = summarise(samples, warmUpS, cycleS, SECRETS);
const controllerLine = [
  `${"Events stored".padEnd(22)}${events.toLocaleString("en-US")} in the namespace at the end`,
  `${"controller log".padEnd(22)}${Object.entries(logged).map(([message, times]) => `${String(times)} × ${message}`).join("; ") || "nothing at warn or above"}`,
  `${"controller stop".padEnd(22)}SIGTERM → exit ${String(stopped.code ?? stopped.signal)} in ${stopped.seconds.toFixed(1)} s`,
].join("\n");
const text = `${heading(setup)}\n\n${cycleTable(rows)}\n\nSummary (steady state, after the warm-up)\n${summaryLines(summary, setup)}\n${controllerLine}\n`;
console.log(`\n${text}`);
await mkdir(OUT, { recursive: true });
await writeFile(join(OUT, "soak.txt"), text);
await writeFile(join(OUT, "soak.png"), await plotSoak(samples, rows, setup));
console.log(`wrote ${join(OUT, "soak.txt")} and soak.png`);
if (summary.expiredNames.length > 0 || summary.missingMax > 0) process.exitCode = 1;

/** Samples on a fixed cadence until MINUTES have passed after the warm-up; shouts at once about expired or missing staples. */
async function sampleUntilDone(): Promise<Sample[]> {
  const taken: Sample[] = [];
  let endAt = Infinity;
  for (let k = 1; ; k++) {
    await sleep(Math.max(0, controllerStartedAt + k * SAMPLE_S * 1000 - Date.now()));
    const sample = await sampler.sample().catch((error: unknown) => { console.error(`soak: a sample failed: ${String(error)}`); });
    if (sample === undefined) continue;
    taken.push(sample);
    if (sample.expired.length > 0) console.error(`!!! EXPIRED STAPLE SERVED at ${sample.t.toFixed(0)} s: ${sample.expired.slice(0, 5).join(", ")}${sample.expired.length > 5 ? ` and ${String(sample.expired.length - 5)} more` : ""}`);
    if (endAt === Infinity && (sample.missing === 0 || sample.t >= WARM_UP_LIMIT_S)) {
      endAt = sample.t + MINUTES * 60;
      console.log(`soak: warm-up over at ${sample.t.toFixed(1)} s (${String(sample.missing)} Secrets without a staple)`);
    } else if (endAt !== Infinity && sample.missing > 0) {
      console.error(`!!! ${String(sample.missing)} Secrets without a staple at ${sample.t.toFixed(0)} s`);
    }
    if (k % Math.round(60 / SAMPLE_S) === 0) progress(sample);
    // Half a sample's slack, so a sample a few milliseconds early still ends the run on a cycle boundary.
    if (sample.t >= endAt - SAMPLE_S / 2) return taken;
  }
}

function progress(sample: Sample): void {
  const age = sample.age === undefined ? "-" : `p50 ${(sample.age.p50 * 100).toFixed(0)}% p99 ${(sample.age.p99 * 100).toFixed(0)}% max ${(sample.age.max * 100).toFixed(0)}%`;
  console.log(`soak: ${(sample.t / 60).toFixed(1)} min: ${String(sample.stapled)} stapled, age ${age}, least left ${(sample.minLeftS ?? 0).toFixed(0)} s, RSS ${sample.rssMiB.toFixed(0)} MiB`);
}

/** The moment every Secret first had a staple (or the warm-up limit). */
function warmUpEnd(taken: readonly Sample[]): number {
  return taken.find((sample) => sample.missing === 0 || sample.t >= WARM_UP_LIMIT_S)?.t ?? taken.at(-1)?.t ?? 0;
}
