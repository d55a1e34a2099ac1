// Two replicas on one real API server: only the Lease holder works; when it stops,
// the other takes over and keeps stapling.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { OcspRig } from "../support/ocsp-rig.ts";

const NS = "default";
const LABELS = { staple: "yes" };

void describe("leader election with two replicas", { timeout: 50 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  const replicas = new Map<string, Controller>();

  const replica = (identity: string) => new Controller({
    kubeConfig: env.kubeConfig, namespaces: [NS], transport: rig.transport, clock: systemClock, random: Math.random, logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }),
    leaderElection: { namespace: NS, name: "ocsp-stapler", identity, leaseDurationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 300 },
  });
  const leaders = () => [...replicas.entries()].filter(([, controller]) => controller.leading).map(([name]) => name);

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("leader");
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    for (const name of ["replica-a", "replica-b"]) replicas.set(name, replica(name));
    await Promise.all([...replicas.values()].map((controller) => controller.start()));
  });
  after(async () => {
    await Promise.all([...replicas.values()].map((controller) => controller.stop()));
    await rig.stop();
    await env.stop();
  });

  void it("exactly one replica leads, and the Lease names it", async () => {
    const [leader] = await eventually("a leader", () => Promise.resolve(leaders().length === 1 ? leaders() : undefined));
    assert.equal(await env.kubectl(["get", "lease", "ocsp-stapler", "-n", NS, "-o", "jsonpath={.spec.holderIdentity}"]), leader);
  });

  void it("only the leader staples; the other stands by with warm caches and never reconciles", async () => {
    await env.createTls("web-tls", await rig.leaf("web"), rig.ca, LABELS);
    await eventually("the staple", () => env.readSecret("web-tls-ocsp"));
    const [leader] = leaders();
    for (const [name, controller] of replicas) {
      assert.equal(controller.synced, true, `${name} has synced caches`);
      assert.equal(controller.secretStates.size > 0, name === leader, `${name} reconciled only if it leads`);
    }
  });

  void it("when the leader stops, the other takes over and keeps stapling", async () => {
    const [leader] = leaders();
    assert.ok(leader);
    await replicas.get(leader)?.stop();
    replicas.delete(leader);
    const [successor] = await eventually("a new leader", () => Promise.resolve(leaders().length === 1 ? leaders() : undefined), 10);
    assert.notEqual(successor, leader);
    const renewed = await rig.leaf("web-renewed");
    await env.core.replaceNamespacedSecret({ name: "web-tls", namespace: NS, body: env.tlsBody("web-tls", renewed, rig.ca, LABELS) });
    await eventually("the new leader's staple", async () => ((await env.readSecret("web-tls-ocsp"))?.metadata?.annotations?.["ocsp-stapler.io/serial"] === renewed.serialHex ? true : undefined));
  });
});
