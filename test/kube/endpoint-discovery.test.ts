// spec.probe.discover on a real API server with the Gateway API's CRDs: the
// controller (--discover-endpoints) finds the hosts that serve a selected
// Secret from a Gateway listener (its status address, the listener's port)
// and an Ingress's spec.tls (its load-balancer address on 443, once it has
// one: until then the status says why it is not probed), probes them like
// listed endpoints, and follows changes of the Ingress; a controller without
// --discover-endpoints says discovery is off instead of ignoring the field.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Controller } from "../../src/controller/controller.ts";
import { DISCOVERY_OFF } from "../../src/controller/endpoint-probes.ts";
import { eventually, KubeEnv, type ConfigStatus } from "../support/kube-env.ts";
import { startController } from "../support/in-process-controller.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { startStapleServer, type StapleServer } from "../support/staple-server.ts";
import { crdFiles, crdNames } from "../support/third-party-crds.ts";

const NS = "discovery";
const LABELS = { "ocsp-stapler.io/probe": "discovered" };

interface Endpoint { address: string; serverName?: string; secret?: string; state: string; message: string }
interface Status extends ConfigStatus {
  endpoints?: Endpoint[];
  discovery?: { found: number; unresolved?: string[] };
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

void describe("endpoint discovery from Ingresses and Gateways", { timeout: 10 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;
  let gatewayServer: StapleServer;
  const statusOf = async () => (await env.statusOf("web")) as Status | undefined;
  const apply = (object: Record<string, unknown>) => env.kubectl(["apply", "-f", "-"], JSON.stringify(object));
  const patchStatus = (kind: string, name: string, status: Record<string, unknown>) => env.kubectl(["patch", kind, name, "-n", NS, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);

  before(async () => {
    env = await KubeEnv.start(NS);
    for (const crd of await crdFiles("gateways")) await env.kubectl(["apply", "--server-side", "-f", crd]);
    await env.kubectl(["wait", "--for=condition=Established", "--timeout=60s", ...crdNames("gateways").map((name) => `crd/${name}`)]);
    rig = await OcspRig.start("discovery");
    const leaf = await rig.leaf("localhost");
    gatewayServer = await startStapleServer(leaf.certPem + rig.ca.certPem, leaf.keyPem);
    await env.createTls("web-tls", leaf, rig.ca, LABELS);
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS }, probe: { discover: true, interval: "1s", timeout: "2s" } });
    await apply({
      apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway", metadata: { name: "gw", namespace: NS },
      spec: { gatewayClassName: "test", listeners: [{ name: "https", port: gatewayServer.port, protocol: "HTTPS", hostname: "localhost", tls: { mode: "Terminate", certificateRefs: [{ name: "web-tls" }] } }] },
    });
    await patchStatus("gateway", "gw", { addresses: [{ type: "IPAddress", value: "127.0.0.1" }] });
    await apply({
      apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "shop", namespace: NS },
      spec: { defaultBackend: { service: { name: "shop", port: { number: 443 } } }, tls: [{ hosts: ["localhost"], secretName: "web-tls" }] },
    });
    controller = await startController(env, rig.transport, { discoverEndpoints: true });
  });
  after(async () => {
    await controller.stop();
    await gatewayServer.close();
    await rig.stop();
    await env.stop();
  });

  void it("a Gateway listener serving the Secret is probed at its status address; an Ingress without an address is named as unresolved", async () => {
    const stored = await eventually("the companion", async () => (await env.readSecret("web-tls-ocsp"))?.data?.["tls.ocsp"]);
    gatewayServer.staple = new Uint8Array(Buffer.from(stored, "base64"));
    const status = await eventually("the Gateway's endpoint Served", async () => {
      const candidate = await statusOf();
      return candidate?.endpoints?.some((endpoint) => endpoint.address === gatewayServer.address && endpoint.state === "Served") === true ? candidate : undefined;
    }, 60);
    assert.deepEqual(status.endpoints?.map(({ address, serverName, secret }) => ({ address, serverName, secret })), [{ address: gatewayServer.address, serverName: "localhost", secret: "web-tls" }]);
    assert.equal(status.discovery?.found, 1);
    assert.match(status.discovery.unresolved?.join("\n") ?? "", /Ingress discovery\/shop: no address found; give one in spec.probe.discoverAddress/);
  });

  void it("the Ingress gets a load-balancer address: its host is probed there (port 443), without a restart", async () => {
    await patchStatus("ingress", "shop", { loadBalancer: { ingress: [{ ip: "127.0.0.1" }] } });
    const status = await eventually("the Ingress's endpoint judged", async () => {
      const candidate = await statusOf();
      const endpoint = candidate?.endpoints?.find((entry) => entry.address === "127.0.0.1:443");
      return endpoint !== undefined && endpoint.state !== "Pending" ? candidate : undefined;
    }, 60);
    const ingress = status.endpoints?.find((entry) => entry.address === "127.0.0.1:443");
    assert.deepEqual([ingress?.serverName, ingress?.secret, ingress?.state], ["localhost", "web-tls", "Unreachable"], "nothing listens on 443 here: what a wrong address looks like");
    assert.equal(status.discovery?.found, 2);
    assert.equal(status.conditions?.find((condition) => condition.type === "Served")?.reason, "Unreachable");
  });

  void it("a controller without --discover-endpoints says so in the status rather than ignoring spec.probe.discover", async () => {
    await controller.stop();
    controller = await startController(env, rig.transport);
    const status = await eventually("the discovery-off note", async () => {
      const candidate = await statusOf();
      return candidate?.discovery?.unresolved?.includes(DISCOVERY_OFF) === true ? candidate : undefined;
    }, 60);
    assert.equal(status.discovery?.found, 0);
    assert.equal(status.endpoints?.length ?? 0, 0);
    const served = status.conditions?.find((condition) => condition.type === "Served");
    assert.deepEqual([served?.status, served?.reason], ["Unknown", "NoEndpoints"]);
    assert.match(served?.message ?? "", /discovery is off in this installation/);
  });
});
