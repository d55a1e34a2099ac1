// Fault suite, kube-apiserver SIGKILLed (issue 10): during the operator's cold start
// of 1,000 TLS Secrets, once about a third have their companion, kube-apiserver is
// killed (no graceful shutdown: watches and writes in flight just break) and started
// again on the same port and the same etcd. The controller runs as its own process
// and must ride it out: no staple written before the kill is withdrawn or rewritten
// (same uid, same resourceVersion), every Secret ends with exactly one companion, the
// process is the same one and healthy, and a Secret created afterwards is stapled
// within seconds (its watches resumed).
//
// APIKILL_SECRETS (default 1,000) changes the fleet.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { V1Secret } from "@kubernetes/client-node";
import { ControllerProcess } from "../support/controller-process.ts";
import { inParallel } from "../support/heap.ts";
import { KubeEnv } from "../support/kube-env.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import type { Issued } from "../support/pki.ts";
import { waitFor } from "../support/wait-for.ts";

const NS = "apikill";
const LABELS = { staple: "yes" };
const FLEET = Number(process.env.APIKILL_SECRETS ?? "1000");
const SOURCE = "ocsp-stapler.io/source";
/** A Secret created after the API server is back must be stapled this soon. */
const AFTERWARDS_WITHIN_S = 30;
/** Writes the kill may break after the API server took them (the controller then fetches and writes once more). */
const IN_FLIGHT_SLACK = 8;
const fleetName = (i: number) => `site-${String(i).padStart(4, "0")}-tls`;

void describe("fault: kube-apiserver SIGKILLed during a cold start", { timeout: 15 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: ControllerProcess | undefined;
  let lateLeaf: Issued;

  const companions = (): Promise<V1Secret[]> => env.companions();
  const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("apikill");
    let started = performance.now();
    const names = Array.from({ length: FLEET }, (_, i) => fleetName(i));
    const leaves = await rig.goodLeaves([...names, "late-tls"]);
    lateLeaf = leaves[FLEET] as Issued;
    console.log(`# ${FLEET + 1} leaves issued in ${seconds(started)} s`);
    await env.applyConfig("fleet", { secretSelector: { matchLabels: LABELS } });
    started = performance.now();
    await inParallel(names, 16, (name, i) => env.createTls(name, leaves[i] as Issued, rig.ca, LABELS));
    console.log(`# ${FLEET} TLS Secrets created in ${seconds(started)} s`);
  });
  after(async () => {
    controller?.kill();
    await rig.stop();
    await env.stop();
  });

  void it("no staple withdrawn or rewritten, watches resume, every Secret stapled once, a new Secret stapled within seconds", async () => {
    const started = performance.now();
    const process = await ControllerProcess.start(env.plane.kubeconfigPath, ["--namespace", NS, "--fetch-rate", "10000"]);
    controller = process;
    const pid = process.child.pid;

    // The kill lands mid-start: a third of the fleet stapled (a positive count, not a delay).
    const stapled = await waitFor(async () => {
      const found = await companions();
      return found.length >= FLEET / 3 ? found : undefined;
    }, "a third of the companions", 180_000);
    const failedBefore = await process.metric("ocsp_stapler_watch_ends_total", { end: "failed" });
    await env.plane.killApiServer();
    const killedAt = performance.now();
    assert.ok(stapled.length < FLEET, `the kill came too late: ${stapled.length} of ${FLEET} already stapled`);
    const record = new Map(stapled.map((companion) => [companion.metadata?.name ?? "", { uid: companion.metadata?.uid, resourceVersion: companion.metadata?.resourceVersion }]));
    console.log(`# kube-apiserver SIGKILLed ${seconds(started)} s after the controller started, with ${stapled.length} of ${FLEET} companions`);

    // The controller saw the API server go (its watches broke) before it comes back.
    await waitFor(async () => ((await process.metric("ocsp_stapler_watch_ends_total", { end: "failed" })) > failedBefore ? true : undefined), "the controller to see its watches fail", 30_000);
    await env.plane.startApiServerAgain();
    console.log(`# kube-apiserver ready again ${seconds(killedAt)} s after the kill`);

    await waitFor(async () => {
      const found = await companions();
      return found.length >= FLEET ? true : undefined;
    }, `all ${FLEET} companions`, 180_000);
    console.log(`# all ${FLEET} stapled ${seconds(started)} s after the controller started (${seconds(killedAt)} s after the kill)`);

    // The TLS Secret cache watches from its first LIST's resourceVersion (no TLS Secret changed since), which
    // the new kube-apiserver's watch cache no longer holds: 410 Gone, so it lists again and requeues every
    // Secret. Those reconciles, against a companion cache that may have missed the last writes before the
    // kill, are the ones that could rewrite; the Secret created next is queued after them. (The companion
    // cache relists too, or resumes if its version is still served: either way it is complete again.)
    await waitFor(async () => ((await process.metric("ocsp_stapler_watch_ends_total", { reflector: `tls-secrets/${NS}`, end: "gone" })) >= 1 ? true : undefined), "the TLS Secret cache to list again", 60_000);
    const created = performance.now();
    await env.createTls("late-tls", lateLeaf, rig.ca, LABELS);
    await waitFor(async () => (await env.readSecret("late-tls-ocsp"))?.data?.["tls.ocsp"], "a staple for the Secret created afterwards", AFTERWARDS_WITHIN_S * 1000);
    console.log(`# a Secret created afterwards stapled in ${seconds(created)} s`);
    await waitFor(async () => ((await process.metric("ocsp_stapler_queue_depth")) === 0 ? true : undefined), "an empty work queue", 30_000);

    const final = await companions();
    const rewritten: string[] = [];
    const current = new Map(final.map((companion) => [companion.metadata?.name ?? "", companion]));
    for (const [name, before] of record) {
      const now = current.get(name);
      if (now === undefined) rewritten.push(`${name}: deleted`);
      else if (now.metadata?.uid !== before.uid) rewritten.push(`${name}: recreated`);
      else if (now.metadata?.resourceVersion !== before.resourceVersion) rewritten.push(`${name}: rewritten (resourceVersion ${String(before.resourceVersion)} → ${String(now.metadata?.resourceVersion)})`);
    }
    assert.deepEqual(rewritten, [], `${rewritten.length} companions that existed before the kill changed`);

    const bySource = Map.groupBy(final, (companion) => companion.metadata?.labels?.[SOURCE] ?? "");
    const wrong = [...Array.from({ length: FLEET }, (_, i) => fleetName(i)), "late-tls"]
      .filter((name) => bySource.get(name)?.length !== 1 || bySource.get(name)?.[0]?.metadata?.name !== `${name}-ocsp`);
    assert.deepEqual(wrong, [], "exactly one companion per Secret");
    assert.equal(final.length, FLEET + 1);

    assert.equal(process.child.exitCode, null, "the controller is still running");
    assert.equal(process.child.pid, pid);
    assert.equal((await process.get("/healthz")).status, 200);
    assert.equal((await process.get("/readyz")).status, 200);
    const writes = await process.metric("ocsp_stapler_api_writes_total", { kind: "companion" });
    const deletes = await process.metric("ocsp_stapler_api_writes_total", { kind: "delete" });
    console.log(`# companion writes ${writes} for ${FLEET + 1} Secrets, deletes ${deletes}; watch ends ${JSON.stringify({
      failed: await process.metric("ocsp_stapler_watch_ends_total", { end: "failed" }),
      gone: await process.metric("ocsp_stapler_watch_ends_total", { end: "gone" }),
    })}; OCSP requests ${rig.responder.requests.length}`);
    assert.equal(deletes, 0, "nothing withdrawn");
    // One fetch and one write per Secret, give or take the few whose write the kill broke in flight.
    assert.ok(writes <= FLEET + 1 + IN_FLIGHT_SLACK, `${writes} companion writes for ${FLEET + 1} Secrets`);
    assert.ok(rig.responder.requests.length <= FLEET + 1 + IN_FLIGHT_SLACK, `${rig.responder.requests.length} OCSP requests for ${FLEET + 1} certificates`);
  });
});
