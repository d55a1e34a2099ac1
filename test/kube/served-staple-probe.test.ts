// The served-staple prober's proof on real servers: three "pods" on
// kubelet-style volumes serve web-tls — (A) nginx with the reloader,
// (B) HAProxy with the reloader, (C) nginx that never mounted the companion —
// and the StapleConfig's status says what each serves: A and B Served with
// the companion's thisUpdate, C NoStaple. A refresh by the operator then
// reaches A; B's reloader was stopped first, so HAProxy keeps the old staple:
// Served while within propagationGrace, OldStaple once it has passed, with an
// Event for each state change and A untouched throughout. The controller's
// metrics say the same per endpoint (staple served, behind seconds).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CoreV1Event } from "@kubernetes/client-node";
import type { Controller } from "../../src/controller/controller.ts";
import { rfc3339 } from "../../src/kube/rfc3339.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { ENDPOINT_STATES } from "../../src/probe/endpoint-state.ts";
import { startController } from "../support/in-process-controller.ts";
import { eventually, KubeEnv, type ConfigStatus } from "../support/kube-env.ts";
import { KubeletVolume } from "../support/kubelet-volume.ts";
import { startNginx, type RunningNginx } from "../support/nginx.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { matchingSamples, sumSeries } from "../support/prometheus-text.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import { HAPROXY, NGINX, skipUnlessInstalled } from "../support/programs.ts";
import { servedThisUpdate } from "../support/reloader-process.ts";
import { haproxyPodFiles, nginxPodFiles, project, readPodSecrets, startHaproxyPod, startNginxPod, type HaproxyPod, type NginxPod } from "../support/server-pods.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";

const NS = "probed";
const LABELS = { "ocsp-stapler.io/staple": "true" };
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const skip = skipUnlessInstalled(NGINX, HAPROXY);

interface Endpoint { address: string; serverName?: string; secret?: string; state: string; message: string; servedThisUpdate?: string; since: string }
interface Status extends ConfigStatus { endpoints?: Endpoint[]; endpointsServed?: number; conditions?: { type: string; status: string; reason: string; message: string }[] }

void describe("served-staple prober on real nginx and HAProxy pods: Served, OldStaple after a stopped reloader, NoStaple without the companion", { skip, timeout: 30 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;
  let dir: string;
  let offsetMs = 0;
  let podA: NginxPod;
  let podB: HaproxyPod;
  let podC: RunningNginx;
  const address = { A: "", B: "", C: "" };
  const cleanups: (() => Promise<void>)[] = [];

  const statusOf = async () => (await env.statusOf("web")) as Status | undefined;
  const endpointOf = (status: Status | undefined, at: string) => status?.endpoints?.find((endpoint) => endpoint.address === at);
  /** The companion's thisUpdate as the status writes times (the annotation has milliseconds). */
  const companionThisUpdate = async () => {
    const annotation = (await env.readSecret("web-tls-ocsp"))?.metadata?.annotations?.["ocsp-stapler.io/this-update"];
    return annotation === undefined ? undefined : rfc3339(Date.parse(annotation));
  };
  /** The prober's Events on the StapleConfig (the reconciler's, Stapled and the like, go there too), oldest first. */
  const probeEvents = async (): Promise<CoreV1Event[]> => {
    const events = await env.core.listNamespacedEvent({ namespace: NS, fieldSelector: "involvedObject.kind=StapleConfig,involvedObject.name=web" });
    return events.items
      .filter((event) => (ENDPOINT_STATES as readonly string[]).includes(event.reason ?? ""))
      .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
  };
  /** One endpoint's samples of a gauge in the controller's metrics: [] when it has none. */
  const endpointGauge = async (name: string, pod: keyof typeof address): Promise<number[]> =>
    matchingSamples(await controller.metrics.registry.metrics(), name, { namespace: NS, config: "web", endpoint: `${address[pod]}/localhost`, secret: "web-tls" });
  const describeEvents = (events: readonly CoreV1Event[]) => events.map((event) => `${event.type ?? ""} ${event.reason ?? ""}: ${event.message ?? ""}`).join("\n");

  before(async () => {
    env = await KubeEnv.start(NS);
    cleanups.push(() => env.stop());
    rig = await OcspRig.start("probe-e2e");
    cleanups.push(() => rig.stop());
    await env.createTls("web-tls", await rig.leaf("localhost"), rig.ca, LABELS);
    // minInterval 24h: once refreshed (the clock 4 days on), nothing is fetched again when the clock moves 2 hours more to end the grace.
    const spec = { secretSelector: { matchLabels: LABELS }, refresh: { minInterval: "24h" } };
    await env.applyConfig("web", spec);
    controller = await startController(env, rig.transport, { clock: { ...systemClock, now: () => new Date(Date.now() + offsetMs) }, random: () => 0.5 });
    cleanups.push(() => controller.stop());
    await eventually("the companion", companionThisUpdate, 60);
    dir = await makeTempDir("probe-e2e");
    cleanups.push(() => removeTempDir(dir));
    const secrets = await readPodSecrets(env, "web-tls");
    podA = await startNginxPod(join(dir, "a"), nginxPodFiles(secrets));
    cleanups.push(() => podA.stop());
    podB = await startHaproxyPod(join(dir, "b"), haproxyPodFiles(secrets));
    cleanups.push(() => podB.stop());
    // C mounts web-tls alone, and its nginx.conf has no stapling at all: the same certificate, no staple.
    const volumeC = await KubeletVolume.create(join(dir, "c", "tls"), project([{ secret: secrets.tls, items: { "tls.crt": "tls.crt", "tls.key": "tls.key" } }]));
    podC = await startNginx({ certPath: volumeC.path("tls.crt"), keyPath: volumeC.path("tls.key") });
    cleanups.push(() => podC.stop());
    address.A = `127.0.0.1:${podA.nginx.port}`;
    address.B = `127.0.0.1:${podB.haproxy.port}`;
    address.C = `127.0.0.1:${podC.port}`;
    // The probe is added once the pods serve, as to a config already in use: no endpoint starts Unreachable.
    // propagationGrace 1h on the test's clock: B is Served (within the grace) until the test moves the clock past it.
    await env.applyConfig("web", {
      ...spec,
      probe: {
        interval: "1s", timeout: "5s", propagationGrace: "1h",
        endpoints: (["A", "B", "C"] as const).map((pod) => ({ address: address[pod], serverName: "localhost", secret: "web-tls" })),
      },
    });
  });
  // Whatever started is stopped, last first, even when before() failed half-way (no API server or nginx left behind).
  after(async () => {
    const failures: unknown[] = [];
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => { failures.push(error); });
    if (failures.length > 0) throw new AggregateError(failures, "cleanup failed");
  });

  void it("A and B Served with the companion's thisUpdate, C NoStaple (as openssl s_client sees them); Served condition False, NoStaple", async () => {
    const stored = await companionThisUpdate();
    assert.ok(stored !== undefined);
    const status = await eventually("every endpoint judged", async () => {
      const candidate = await statusOf();
      return candidate?.endpoints?.length === 3 && candidate.endpoints.every((endpoint) => endpoint.state !== "Pending") ? candidate : undefined;
    }, 60);
    assert.deepEqual(status.endpoints?.map((endpoint) => [endpoint.address, endpoint.state]), [
      [address.C, "NoStaple"], ...[[address.A, "Served"], [address.B, "Served"]].sort((a, b) => (a[0] ?? "").localeCompare(b[0] ?? "")),
    ], JSON.stringify(status.endpoints, null, 2));
    for (const pod of ["A", "B"] as const) {
      const endpoint = endpointOf(status, address[pod]);
      assert.equal(endpoint?.servedThisUpdate, stored, `${pod}: the companion's staple`);
      assert.match(endpoint.message, /^serves the stored staple/);
      assert.equal(endpoint.secret, "web-tls");
      assert.equal(endpoint.serverName, "localhost");
    }
    const noStaple = endpointOf(status, address.C);
    assert.equal(noStaple?.servedThisUpdate, undefined);
    assert.match(noStaple?.message ?? "", /no OCSP staple in the handshake for Secret web-tls/);
    assert.equal(status.endpointsServed, 2);
    const served = status.conditions?.find((condition) => condition.type === "Served");
    assert.deepEqual([served?.status, served?.reason], ["False", "NoStaple"]);
    assert.match(served?.message ?? "", new RegExp(`^2 of 3 endpoints serve the current staple; ${address.C} \\(localhost\\): NoStaple`));
    assert.deepEqual([await endpointGauge("ocsp_stapler_endpoint_staple_served", "A"), await endpointGauge("ocsp_stapler_endpoint_staple_served", "B"), await endpointGauge("ocsp_stapler_endpoint_staple_served", "C")], [[1], [1], [0]], "metrics: staple served by A and B, not by C");
    assert.deepEqual(await endpointGauge("ocsp_stapler_endpoint_staple_age_seconds", "C"), [], "no staple, no age");
    assert.ok(sumSeries(await controller.metrics.registry.metrics(), "ocsp_stapler_endpoint_probes_total", { result: "NoStaple" }) >= 1);
    // What a TLS client sees agrees with the prober.
    assert.match(await sClientStatus(podA.nginx.port), /Cert Status: good/);
    assert.match(await sClientStatus(podB.haproxy.port), /Cert Status: good/);
    assert.match(await sClientStatus(podC.port), /OCSP response: no response sent/);
    const events = await eventually("C's NoStaple Event", async () => {
      const found = await probeEvents();
      return found.some((event) => event.reason === "NoStaple") ? found : undefined;
    });
    assert.deepEqual(events.map((event) => [event.type, event.reason]), [["Warning", "NoStaple"]], `only C's state changed (a first Served is no news):\n${describeEvents(events)}`);
    assert.match(events[0]?.message ?? "", new RegExp(`^endpoint ${address.C} \\(localhost\\): no OCSP staple`));
  });

  void it("a refresh reaches A; B, its reloader stopped, keeps the old staple: Served within propagationGrace, then OldStaple naming both thisUpdates", async () => {
    const before = await statusOf();
    const old = await companionThisUpdate();
    const sinceA = endpointOf(before, address.A)?.since;
    assert.ok(old !== undefined && sinceA !== undefined);
    // Four days on, the staple (7 days) is past its refresh point: the operator fetches a new one.
    offsetMs = 4 * DAY_MS;
    await env.touch("web-tls");
    const refreshed = await eventually("a refreshed companion", async () => { const value = await companionThisUpdate(); return value !== old ? value : undefined; }, 60);
    // B's reloader dies before the kubelet brings the new companion: HAProxy keeps the staple it has.
    await podB.reloader.stop();
    const secrets = await readPodSecrets(env, "web-tls");
    await podA.volume.update(nginxPodFiles(secrets));
    await podB.volume.update(haproxyPodFiles(secrets));
    const propagating = await eventually("A Served with the new staple, B still on the old one", async () => {
      const status = await statusOf();
      const [a, b] = [endpointOf(status, address.A), endpointOf(status, address.B)];
      return a?.state === "Served" && a.servedThisUpdate === refreshed && b?.message.includes(`than the one stored (thisUpdate ${refreshed})`) === true ? { a, b } : undefined;
    }, 60);
    // Outside the prober, the servers say the same.
    assert.equal(rfc3339(Date.parse(await servedThisUpdate(podA.nginx.port))), refreshed);
    assert.equal(rfc3339(Date.parse(await servedThisUpdate(podB.haproxy.port))), old);
    assert.equal(propagating.b.state, "Served", "within propagationGrace, an older staple is still Served");
    assert.equal(propagating.b.servedThisUpdate, old);
    assert.match(propagating.b.message, /within propagationGrace \(3600s\)/);
    // Past the grace: B is OldStaple at its next probe.
    offsetMs += 2 * HOUR_MS;
    const status = await eventually("B OldStaple", async () => {
      const candidate = await statusOf();
      return endpointOf(candidate, address.B)?.state === "OldStaple" ? candidate : undefined;
    }, 60);
    const oldStaple = endpointOf(status, address.B);
    assert.equal(oldStaple?.servedThisUpdate, old);
    assert.match(oldStaple.message, new RegExp(`older staple \\(thisUpdate ${old}\\) than the one stored \\(thisUpdate ${refreshed}\\).*beyond propagationGrace \\(3600s\\)`));
    assert.deepEqual(status.endpoints?.map((endpoint) => [endpoint.address, endpoint.state]), [[address.C, "NoStaple"], [address.B, "OldStaple"], [address.A, "Served"]], "worst first");
    const a = endpointOf(status, address.A);
    assert.equal(a?.servedThisUpdate, refreshed);
    assert.equal(a.since, sinceA, "A never left Served");
    assert.equal(status.endpointsServed, 1);
    const served = status.conditions?.find((condition) => condition.type === "Served");
    assert.deepEqual([served?.status, served?.reason], ["False", "NoStaple"], "the worst state is still C's");
    assert.match(served?.message ?? "", /^1 of 3 endpoints serve the current staple; /);
    assert.deepEqual(await endpointGauge("ocsp_stapler_endpoint_staple_served", "B"), [1], "metrics: B serves a valid staple, only an old one");
    assert.deepEqual(await endpointGauge("ocsp_stapler_endpoint_staple_behind_seconds", "B"), [(Date.parse(refreshed) - Date.parse(old)) / 1000]);
    assert.deepEqual(await endpointGauge("ocsp_stapler_endpoint_staple_behind_seconds", "A"), [0]);
    assert.ok(sumSeries(await controller.metrics.registry.metrics(), "ocsp_stapler_endpoint_probes_total", { result: "OldStaple" }) >= 1);
    const events = await eventually("B's OldStaple Event", async () => {
      const found = await probeEvents();
      return found.some((event) => event.reason === "OldStaple") ? found : undefined;
    });
    assert.deepEqual(events.map((event) => [event.type, event.reason]), [["Warning", "NoStaple"], ["Warning", "OldStaple"]], describeEvents(events));
    assert.match(events[1]?.message ?? "", new RegExp(`^endpoint ${address.B} \\(localhost\\): serves an older staple \\(thisUpdate ${old}\\)`));
  });
});
