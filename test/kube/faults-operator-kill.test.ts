// The operator itself killed (SIGKILL: no Lease release, no cleanup), as real
// processes against the real API server:
// - the leader of two replicas: the standby takes over within the Lease's
//   duration, rewrites nothing that is valid, and the two never both write
//   (each replica reaches the API server through its own proxy, which records
//   every write and when);
// - a lone operator during a cold start: once restarted, it fetches only for the
//   Secrets that have no staple yet, and each Secret ends with one companion.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApiProxy } from "../support/api-proxy.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { inParallel } from "../support/heap.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { waitFor } from "../support/wait-for.ts";

const LABELS = { staple: "yes" };
/** client-go's defaults, which the controller uses: a standby takes over this long after the last renewal it saw, trying every 2 s. */
const LEASE_MS = 15_000;
const RETRY_MS = 2_000;

void describe("the operator killed", { timeout: 20 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  const processes: ControllerProcess[] = [];
  const proxies: ApiProxy[] = [];
  const companions = async (namespace: string) => new Map((await env.companions(namespace))
    .map((secret) => [secret.metadata?.name ?? "", `${secret.metadata?.uid ?? ""}@${secret.metadata?.resourceVersion ?? ""}`]));
  const fetches = (controller: ControllerProcess) => controller.metric("ocsp_stapler_fetch_total");
  const run = async (namespace: string, extra: string[] = []) => {
    const proxy = await ApiProxy.start(env.plane);
    proxies.push(proxy);
    const controller = await ControllerProcess.start(await proxy.writeKubeconfig(env.plane.dir), ["--namespace", namespace, ...extra], { LOG_LEVEL: "info" });
    processes.push(controller);
    return { proxy, controller };
  };
  const fleet = async (namespace: string, count: number) => {
    const leaves = await rig.goodLeaves(Array.from({ length: count }, (_, i) => `${namespace}-${String(i)}`));
    await inParallel(leaves, 16, (leaf, i) => env.createTls(`site-${String(i)}`, leaf, rig.ca, LABELS, namespace));
  };

  before(async () => {
    env = await KubeEnv.start("leader");
    await env.core.createNamespace({ body: { metadata: { name: "cold" } } });
    rig = await OcspRig.start("operator-kill");
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    await env.custom.createNamespacedCustomObject({ group: "ocsp-stapler.io", version: "v1alpha1", namespace: "cold", plural: "stapleconfigs", body: { apiVersion: "ocsp-stapler.io/v1alpha1", kind: "StapleConfig", metadata: { name: "web", namespace: "cold" }, spec: { secretSelector: { matchLabels: LABELS } } } });
  });
  after(async () => {
    for (const controller of processes) controller.kill();
    for (const proxy of proxies) await proxy.stop();
    await rig.stop();
    await env.stop();
  });

  void it("the leader SIGKILLed: the standby takes over within the Lease, rewrites nothing valid, and the two never both write", async () => {
    const N = 50;
    await fleet("leader", N);
    const election = ["--leader-elect", "--leader-elect-namespace", "leader"];
    const first = await run("leader", election);
    await first.controller.waitForLog(/became leader/);
    await eventually("the fleet stapled", async () => ((await companions("leader")).size === N ? true : undefined), 120);
    const second = await run("leader", election);
    await waitFor(async () => ((await second.controller.get("/readyz")).status === 200 ? true : undefined), "the standby's caches", 30_000);
    const before = await companions("leader");
    const killedAt = performance.now();
    first.controller.child.kill("SIGKILL");
    await second.controller.waitForLog(/became leader/, 60);
    const takeoverMs = performance.now() - killedAt;
    assert.ok(takeoverMs <= LEASE_MS + RETRY_MS + 3_000, `took over ${String(Math.round(takeoverMs))} ms after the kill`);
    await env.createTls("site-after", (await rig.goodLeaves(["leader-after"]))[0] ?? assert.fail(), rig.ca, LABELS, "leader");
    await eventually("a Secret created after the takeover stapled", async () => ((await companions("leader")).has("site-after-ocsp") ? true : undefined), 60);
    const after = await companions("leader");
    for (const [name, version] of before) assert.equal(after.get(name), version, `${name} was not rewritten`);
    assert.ok(first.proxy.writes.length > 0, "the first leader wrote");
    assert.deepEqual(first.proxy.writes.filter((request) => request.at > killedAt), [], "nothing from the killed leader afterwards");
    assert.deepEqual(second.proxy.writes.filter((request) => request.at < killedAt), [], "nothing from the standby while the other led");
  });

  void it("SIGKILLed during a cold start: after a restart, only Secrets without a staple are fetched, and each has one companion", async () => {
    const N = 300;
    await fleet("cold", N);
    // A low fetch rate stretches the cold start so the kill lands in its middle.
    const first = await run("cold", ["--fetch-rate", "40"]);
    await eventually("a third of the fleet stapled", async () => ((await companions("cold")).size >= N / 3 ? true : undefined), 120);
    first.controller.child.kill("SIGKILL");
    await waitFor(() => Promise.resolve(first.controller.child.exitCode !== null || first.controller.child.signalCode !== null ? true : undefined), "the process gone", 10_000);
    const stapled = await companions("cold");
    assert.ok(stapled.size < N, "killed before the end");
    const second = await run("cold", ["--fetch-rate", "10000"]);
    await eventually("the whole fleet stapled", async () => ((await companions("cold")).size === N ? true : undefined), 180);
    await waitFor(async () => ((await second.controller.get("/metrics")).body.includes("ocsp_stapler_queue_depth 0") ? true : undefined), "the queue drained", 30_000);
    assert.equal(await fetches(second.controller), N - stapled.size, "fetched only for the Secrets without a staple");
    const final = await companions("cold");
    for (const [name, version] of stapled) assert.equal(final.get(name), version, `${name} was not rewritten`);
    assert.deepEqual([...final.keys()].sort(), Array.from({ length: N }, (_, i) => `site-${String(i)}-ocsp`).sort());
  });
});
