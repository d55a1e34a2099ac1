// Fault suite, churn (issue 10): TLS Secrets created, renewed (tls.crt replaced by
// another certificate) and deleted at about 50 a second for two minutes, on a real
// kube-apiserver with kube-controller-manager's garbage collector, a real `openssl
// ocsp` responder and the controller in-process. The end state is exact: one
// companion per live selected Secret, carrying its current certificate's SHA-256
// and owned by that Secret (not by an earlier one of the same name), none for
// deleted or unselected ones; and the heap after a forced GC returns to its level.
//
// CHURN_SECONDS (default 120), CHURN_RATE (operations a second, default 50) and
// CHURN_SEED (default random, printed) change the load.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { V1Secret } from "@kubernetes/client-node";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { heapAfterGc, inParallel, mib } from "../support/heap.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import type { Issued, TestCa } from "../support/pki.ts";

const NS = "churn";
const SECONDS = Number(process.env.CHURN_SECONDS ?? "120");
const RATE = Number(process.env.CHURN_RATE ?? "50");
const SEED = Number(process.env.CHURN_SEED ?? String(Math.floor(Math.random() * 2 ** 31)));
const WARM_UP_SECONDS = 10;
/** Distinct certificates the Secrets are made from and renewed to. */
const POOL = 40;
/** Creates, renewals and deletions keep about this many Secrets alive. */
const LIVE_TARGET = 200;
/** At most this many API calls of the load in flight: if the API server falls behind, the load slows down. */
const MAX_IN_FLIGHT = 32;
/** One Secret in ten is created without the label the StapleConfig selects: it must never get a companion. */
const UNSELECTED_SHARE = 0.1;
/** How far the heap after churn may sit above the heap before it (both after a forced GC, both with no Secrets). */
const HEAP_MARGIN = 8 * 1_048_576;
const SELECTED = { churn: "true" };
const UNSELECTED = { churn: "false" };
const MANAGED = "app.kubernetes.io/managed-by=ocsp-stapler";

/** mulberry32: a small seeded generator, so a failing run can be replayed with CHURN_SEED. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

interface LiveSecret { readonly cert: number; readonly selected: boolean }
type Operation = { kind: "create"; name: string; selected: boolean } | { kind: "renew"; name: string } | { kind: "delete"; name: string };

/**
 * The load: creates, renewals and deletions at a fixed rate, bounded in count
 * (rate × seconds operations) and in time (it stops at 1.5 × seconds even if
 * the API server is slow). Operations on one name never overlap, so `live` is
 * exactly what the API server holds once every call has returned. Half of the
 * creations reuse a deleted name: the new Secret has a new uid, and its
 * companion must be owned by it.
 */
class ChurnLoad {
  readonly live = new Map<string, LiveSecret>();
  readonly done = { create: 0, renew: 0, delete: 0 };
  private readonly deleted = new Set<string>();
  private readonly busy = new Set<string>();
  private nextName = 0;
  private readonly random: () => number;
  private readonly env: KubeEnv;
  private readonly pool: readonly Issued[];
  private readonly ca: TestCa;

  constructor(env: KubeEnv, pool: readonly Issued[], ca: TestCa, random: () => number) {
    this.env = env;
    this.pool = pool;
    this.ca = ca;
    this.random = random;
  }

  /** Runs for `seconds` at `rate` operations a second; resolves when every call has returned. */
  async run(seconds: number, rate: number): Promise<{ operations: number; seconds: number; done: Record<Operation["kind"], number> }> {
    const before = { ...this.done };
    const total = Math.round(seconds * rate);
    const started = performance.now();
    const deadline = started + 1.5 * seconds * 1000;
    const inFlight = new Set<Promise<void>>();
    let operations = 0;
    for (let i = 0; i < total && performance.now() < deadline; i++) {
      const due = started + (i * 1000) / rate;
      if (due > performance.now()) await sleep(due - performance.now()); // pacing, not waiting for an outcome
      while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
      const operation = this.pick();
      if (operation === undefined) continue;
      this.busy.add(operation.name);
      const call: Promise<void> = this.apply(operation).finally(() => { inFlight.delete(call); this.busy.delete(operation.name); });
      inFlight.add(call);
      operations++;
    }
    await Promise.all(inFlight);
    const done = { create: this.done.create - before.create, renew: this.done.renew - before.renew, delete: this.done.delete - before.delete };
    return { operations, seconds: (performance.now() - started) / 1000, done };
  }

  /** Deletes every live Secret. */
  async clear(): Promise<void> {
    await inParallel([...this.live.keys()], 16, (name) => this.apply({ kind: "delete", name }));
  }

  certificate(index: number): Issued {
    return this.pool[index] as Issued;
  }

  private pick(): Operation | undefined {
    const any = (names: Iterable<string>) => {
      const idle = [...names].filter((name) => !this.busy.has(name));
      return idle[Math.floor(this.random() * idle.length)];
    };
    if (this.random() < 1 / 3) {
      const name = any(this.live.keys());
      return name === undefined ? undefined : { kind: "renew", name };
    }
    // Creations and deletions balance where LIVE_TARGET Secrets are alive.
    if (this.random() < this.live.size / (2 * LIVE_TARGET)) {
      const name = any(this.live.keys());
      return name === undefined ? undefined : { kind: "delete", name };
    }
    const name = (this.random() < 0.5 ? any(this.deleted) : undefined) ?? `churn-${String(this.nextName++).padStart(5, "0")}`;
    return { kind: "create", name, selected: this.random() >= UNSELECTED_SHARE };
  }

  private async apply(operation: Operation): Promise<void> {
    const { core } = this.env;
    switch (operation.kind) {
      case "create": {
        const cert = Math.floor(this.random() * this.pool.length);
        await core.createNamespacedSecret({ namespace: NS, body: this.body(operation.name, cert, operation.selected) });
        this.deleted.delete(operation.name);
        this.live.set(operation.name, { cert, selected: operation.selected });
        break;
      }
      case "renew": {
        const current = this.live.get(operation.name);
        if (current === undefined) return;
        const cert = (current.cert + 1 + Math.floor(this.random() * (this.pool.length - 1))) % this.pool.length;
        await core.replaceNamespacedSecret({ name: operation.name, namespace: NS, body: this.body(operation.name, cert, current.selected) });
        this.live.set(operation.name, { ...current, cert });
        break;
      }
      case "delete":
        await core.deleteNamespacedSecret({ name: operation.name, namespace: NS });
        this.live.delete(operation.name);
        this.deleted.add(operation.name);
        break;
    }
    this.done[operation.kind]++;
  }

  private body(name: string, cert: number, selected: boolean): V1Secret {
    return this.env.tlsBody(name, this.certificate(cert), this.ca, selected ? SELECTED : UNSELECTED, NS);
  }
}

void describe("fault: churn", { timeout: 30 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;
  let load: ChurnLoad;
  let sha256: string[];
  let heapBefore: number;

  /** What differs between the cluster and the exact end state; empty when they agree. */
  async function differences(): Promise<string[]> {
    const [secrets, companions] = await Promise.all([
      env.core.listNamespacedSecret({ namespace: NS, fieldSelector: "type=kubernetes.io/tls" }),
      env.core.listNamespacedSecret({ namespace: NS, labelSelector: MANAGED }),
    ]);
    const uids = new Map(secrets.items.map((secret) => [secret.metadata?.name ?? "", secret.metadata?.uid ?? ""]));
    const problems: string[] = [];
    if (uids.size !== load.live.size) problems.push(`${uids.size} TLS Secrets, ${load.live.size} expected`);
    const bySource = Map.groupBy(companions.items, (companion) => companion.metadata?.labels?.["ocsp-stapler.io/source"] ?? "");
    for (const [name, { cert, selected }] of load.live) {
      const found = bySource.get(name) ?? [];
      bySource.delete(name);
      if (!selected) {
        if (found.length > 0) problems.push(`${name}: unselected, has a companion`);
        continue;
      }
      const [companion, ...more] = found;
      if (companion === undefined) { problems.push(`${name}: no companion`); continue; }
      if (more.length > 0) problems.push(`${name}: ${found.length} companions`);
      if (companion.metadata?.name !== `${name}-ocsp`) problems.push(`${name}: companion named ${companion.metadata?.name ?? ""}`);
      if (companion.metadata?.annotations?.["ocsp-stapler.io/cert-sha256"] !== sha256[cert]) problems.push(`${name}: staple for another certificate`);
      const owners = companion.metadata?.ownerReferences?.map((owner) => owner.uid) ?? [];
      if (owners.length !== 1 || owners[0] !== uids.get(name)) problems.push(`${name}: owned by ${owners.join(", ") || "nobody"}, not the live Secret`);
    }
    for (const [source, found] of bySource) problems.push(`${source}: deleted, ${found.length} companion(s) left`);
    return problems;
  }

  /** Waits for the exact end state; fails listing what still differs. */
  async function settle(what: string, seconds: number): Promise<number> {
    const started = performance.now();
    let last: string[] = [];
    await eventually(what, async () => {
      last = await differences();
      return last.length === 0 ? true : undefined;
    }, seconds, 1_000).catch((error: unknown) => { throw new Error(`${String(error)}; ${last.length} differences, e.g. ${last.slice(0, 8).join("; ")}`); });
    return (performance.now() - started) / 1000;
  }

  /**
   * Every Secret deleted, their companions collected, the controller holding
   * no state for them, and every Event it recorded written (its Event queue
   * holds the messages until then, which would count as heap).
   */
  async function emptied(): Promise<void> {
    await load.clear();
    await settle("every companion collected", 180);
    await eventually("the controller to forget every Secret", () => Promise.resolve(controller.secretStates.size === 0 ? true : undefined), 30);
    await eventually("an empty status", async () => ((await env.statusOf("churn"))?.selected === 0 ? true : undefined), 30);
    await eventually("every Event written", async () => {
      const page = await env.core.listNamespacedEvent({ namespace: NS, limit: 1 });
      const written = page.items.length + (page.metadata?.remainingItemCount ?? 0);
      return written >= ((await writes()).event ?? 0) ? true : undefined;
    }, 60, 500);
  }

  async function writes(): Promise<Record<string, number>> {
    return Object.fromEntries((await controller.metrics.apiWrites.get()).values.map((value) => [String(value.labels.kind), value.value]));
  }

  before(async () => {
    env = await KubeEnv.start(NS, { garbageCollector: true });
    rig = await OcspRig.start("churn");
    const pool = await rig.goodLeaves(Array.from({ length: POOL }, (_, i) => `churn-cert-${i}`));
    sha256 = pool.map((cert) => readCertificates(cert.certPem, "leaf")[0]?.sha256 ?? "");
    await env.applyConfig("churn", { secretSelector: { matchLabels: SELECTED } });
    controller = new Controller({ kubeConfig: env.kubeConfig, namespaces: [NS], transport: rig.transport, clock: systemClock, random: Math.random, logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }) });
    await controller.start();
    load = new ChurnLoad(env, pool, rig.ca, seeded(SEED));
    console.log(`# churn: ${SECONDS} s at ${RATE}/s, seed ${SEED} (CHURN_SEED to replay)`);
  });
  after(async () => {
    await controller.stop();
    await rig.stop();
    await env.stop();
  });

  void it("warm-up: a short churn settles exactly, and everything goes once the Secrets go", async () => {
    await load.run(WARM_UP_SECONDS, RATE);
    await settle("the warm-up's end state", 120);
    await emptied();
    heapBefore = await heapAfterGc();
  });

  void it(`${SECONDS} s of creations, renewals and deletions at ${RATE}/s: one companion per live selected Secret, for its current certificate; none for the others`, async () => {
    const writesBefore = await writes();
    const { operations, seconds, done } = await load.run(SECONDS, RATE);
    const settled = await settle("the end state", 180);
    const selected = [...load.live.values()].filter((secret) => secret.selected).length;
    const status = await eventually("the status to count them", async () => { const s = await env.statusOf("churn"); return s?.selected === selected && s.stapled === selected ? s : undefined; }, 60);
    assert.equal(status.failing, 0);
    const after = await writes();
    const companionWrites = (after.companion ?? 0) - (writesBefore.companion ?? 0);
    console.log(`# ${operations} operations in ${seconds.toFixed(1)} s (${(operations / seconds).toFixed(1)}/s): ${JSON.stringify(done)}; settled ${settled.toFixed(1)} s later; ${load.live.size} live, ${selected} selected`);
    console.log(`# controller writes during churn: ${JSON.stringify(Object.fromEntries(Object.entries(after).map(([kind, count]) => [kind, count - (writesBefore[kind] ?? 0)])))}; OCSP requests in all: ${rig.responder.requests.length}`);
    // A staple per creation or renewal of a selected Secret, and re-writes after races with the garbage collector; never a storm.
    assert.ok(companionWrites <= 2 * (done.create + done.renew), `${companionWrites} companion writes for ${done.create + done.renew} creations and renewals`);
    assert.ok(operations >= 0.5 * SECONDS * RATE, `only ${operations} of ${SECONDS * RATE} operations ran`);
  });

  void it("memory returns to its level: heap after a forced GC, with no Secrets, before and after the churn", async () => {
    await emptied();
    const heapAfter = await heapAfterGc();
    console.log(`# heap after GC: before churn ${mib(heapBefore)}, after ${mib(heapAfter)} (${heapAfter >= heapBefore ? "+" : ""}${mib(heapAfter - heapBefore)}; margin ${mib(HEAP_MARGIN)})`);
    assert.ok(heapAfter - heapBefore < HEAP_MARGIN, `heap grew by ${mib(heapAfter - heapBefore)}`);
  });
});
