// The served-staple prober in the controller, on a real API server, against
// real TLS endpoints (Node's TLS server, stapling what the test says; a
// silent TCP server): each endpoint's verdict in the StapleConfig's status
// (Served with the companion's thisUpdate, NoStaple, CertificateMismatch,
// Unreachable after its timeout), the Served condition and endpointsServed,
// a Warning Event per failing endpoint; then a refresh the endpoint does not
// pick up is OldStaple (grace 0s), and serving it again is Served with a
// Normal Event; with --discover-endpoints on an API server without the Gateway
// API, it still syncs. (That a hung endpoint delays neither the stapling nor the
// other endpoints is proven on manual time: test/probe/prober.test.ts.)
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Controller } from "../../src/controller/controller.ts";
import { rfc3339 } from "../../src/kube/rfc3339.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { conditionOf, eventually, KubeEnv, type ConfigStatus } from "../support/kube-env.ts";
import { startController } from "../support/in-process-controller.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { matchingSamples, sumSeries } from "../support/prometheus-text.ts";
import { startSilentServer, startStapleServer, type StapleServer } from "../support/staple-server.ts";

const NS = "probed";
const LABELS = { "ocsp-stapler.io/probe": "yes" };
const DAY_MS = 86_400_000;

interface Endpoint { address: string; serverName?: string; secret?: string; state: string; message: string; servedThisUpdate?: string; since: string }
interface Status extends ConfigStatus { endpoints?: Endpoint[]; endpointsServed?: number; conditions?: { type: string; status: string; reason: string; message: string }[] }

void describe("served-staple prober: what each endpoint serves, in the StapleConfig's status", { timeout: 10 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;
  let offsetMs = 0;
  let stapling: StapleServer;
  let noStaple: StapleServer;
  let otherCertificate: StapleServer;
  let silent: { address: string; close: () => Promise<void> };
  const statusOf = async () => (await env.statusOf("web")) as Status | undefined;
  const endpointOf = (status: Status | undefined, address: string) => status?.endpoints?.find((endpoint) => endpoint.address === address);
  const companion = async () => {
    const secret = await env.readSecret("web-tls-ocsp");
    const der = secret?.data?.["tls.ocsp"];
    const thisUpdate = secret?.metadata?.annotations?.["ocsp-stapler.io/this-update"];
    // The annotation has milliseconds; the status, as Kubernetes times, none.
    return der === undefined || thisUpdate === undefined ? undefined : { der: new Uint8Array(Buffer.from(der, "base64")), thisUpdate: rfc3339(Date.parse(thisUpdate)) };
  };

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("probe");
    const leaf = await rig.leaf("localhost");
    const other = await rig.leaf("other");
    stapling = await startStapleServer(leaf.certPem + rig.ca.certPem, leaf.keyPem);
    noStaple = await startStapleServer(leaf.certPem + rig.ca.certPem, leaf.keyPem);
    otherCertificate = await startStapleServer(other.certPem + rig.ca.certPem, other.keyPem);
    silent = await startSilentServer();
    await env.createTls("web-tls", leaf, rig.ca, LABELS);
    await env.applyConfig("web", {
      secretSelector: { matchLabels: LABELS },
      probe: {
        interval: "1s", timeout: "2s", propagationGrace: "0s",
        endpoints: [
          { address: stapling.address, serverName: "localhost", secret: "web-tls" },
          { address: noStaple.address, serverName: "localhost", secret: "web-tls" },
          { address: otherCertificate.address, serverName: "other.example", secret: "web-tls" },
          { address: silent.address },
        ],
      },
    });
    // With discovery on where the Gateway API is not installed: Ingresses and Services only, and it still syncs.
    controller = await startController(env, rig.transport, { clock: { ...systemClock, now: () => new Date(Date.now() + offsetMs) }, discoverEndpoints: true });
    assert.equal(controller.synced, true);
  });
  after(async () => {
    await controller.stop();
    for (const server of [stapling, noStaple, otherCertificate, silent]) await server.close();
    await rig.stop();
    await env.stop();
  });

  void it("each endpoint's verdict: Served (the companion's thisUpdate), NoStaple, CertificateMismatch, Unreachable; Served condition False, worst first", async () => {
    const stored = await eventually("the companion", companion);
    stapling.staple = stored.der;
    const status = await eventually("every endpoint judged, the stapling one Served", async () => {
      const candidate = await statusOf();
      return candidate?.endpoints?.every((endpoint) => endpoint.state !== "Pending") === true && endpointOf(candidate, stapling.address)?.state === "Served" ? candidate : undefined;
    }, 60);
    assert.deepEqual(status.endpoints?.map((endpoint) => [endpoint.address, endpoint.state]), [
      [silent.address, "Unreachable"], [otherCertificate.address, "CertificateMismatch"], [noStaple.address, "NoStaple"], [stapling.address, "Served"],
    ], "failing first, worst first");
    const served = endpointOf(status, stapling.address);
    assert.equal(served?.servedThisUpdate, stored.thisUpdate);
    assert.equal(served.secret, "web-tls");
    assert.equal(served.serverName, "localhost");
    assert.match(endpointOf(status, noStaple.address)?.message ?? "", /no OCSP staple in the handshake for Secret web-tls/);
    assert.match(endpointOf(status, otherCertificate.address)?.message ?? "", /serves "CN=other.example".*not the certificate of Secret web-tls/);
    assert.match(endpointOf(status, silent.address)?.message ?? "", new RegExp(`no TLS handshake with ${silent.address} within 2s`));
    assert.equal(endpointOf(status, silent.address)?.secret, undefined, "nothing served, nothing compared");
    assert.equal(status.endpointsServed, 1);
    const condition = status.conditions?.find((candidate) => candidate.type === "Served");
    assert.deepEqual([condition?.status, condition?.reason], ["False", "Unreachable"]);
    assert.match(condition?.message ?? "", /^1 of 4 endpoints serve the current staple; /);
    assert.equal(conditionOf(status, "Ready")?.status, "True", "stapling is fine: only serving fails");
    const metrics = await controller.metrics.registry.metrics();
    // One sample each (an absent series would not be a 0).
    const series = (name: string, address: string, serverName?: string) => matchingSamples(metrics, name, { namespace: NS, config: "web", endpoint: serverName === undefined ? address : `${address}/${serverName}` });
    assert.deepEqual([series("ocsp_stapler_endpoint_staple_served", stapling.address, "localhost"), series("ocsp_stapler_endpoint_staple_served", noStaple.address, "localhost")], [[1], [0]]);
    assert.deepEqual([series("ocsp_stapler_endpoint_certificate_matches", otherCertificate.address, "other.example"), series("ocsp_stapler_endpoint_up", silent.address)], [[0], [0]]);
    assert.ok((series("ocsp_stapler_endpoint_staple_age_seconds", stapling.address, "localhost")[0] ?? -1) >= 0);
    assert.ok(sumSeries(metrics, "ocsp_stapler_endpoint_probes_total", { result: "Unreachable" }) >= 1);
    await eventually("a Warning Event per failing endpoint", async () => {
      const found = await env.eventReasons("StapleConfig", "web");
      return ["NoStaple", "CertificateMismatch", "Unreachable"].every((reason) => found.includes(reason)) ? found : undefined;
    });
  });

  void it("a refresh the endpoint does not pick up: OldStaple naming both thisUpdates; serving the new one: Served again, with a Normal Event", async () => {
    const before = await eventually("the companion", companion);
    offsetMs = 4 * DAY_MS;
    await env.touch("web-tls");
    const refreshed = await eventually("a refreshed companion", async () => { const now = await companion(); return now !== undefined && now.thisUpdate !== before.thisUpdate ? now : undefined; }, 60);
    const old = await eventually("the stale endpoint OldStaple", async () => {
      const endpoint = endpointOf(await statusOf(), stapling.address);
      return endpoint?.state === "OldStaple" ? endpoint : undefined;
    }, 60);
    assert.equal(old.servedThisUpdate, before.thisUpdate);
    const behind = sumSeries(await controller.metrics.registry.metrics(), "ocsp_stapler_endpoint_staple_behind_seconds", { endpoint: `${stapling.address}/localhost` });
    assert.equal(behind, (Date.parse(refreshed.thisUpdate) - Date.parse(before.thisUpdate)) / 1000, "the metric the OcspEndpointStapleOld alert reads");
    assert.match(old.message, new RegExp(`older staple \\(thisUpdate ${before.thisUpdate}\\) than the one stored \\(thisUpdate ${refreshed.thisUpdate}\\)`));
    stapling.staple = refreshed.der;
    const again = await eventually("the endpoint Served again", async () => {
      const endpoint = endpointOf(await statusOf(), stapling.address);
      return endpoint?.state === "Served" ? endpoint : undefined;
    }, 60);
    assert.equal(again.servedThisUpdate, refreshed.thisUpdate);
    await eventually("OldStaple then Served Events", async () => {
      const reasons = await env.eventReasons("StapleConfig", "web");
      return reasons.includes("OldStaple") && reasons.lastIndexOf("Served") > reasons.indexOf("OldStaple") ? true : undefined;
    });
  });
});
