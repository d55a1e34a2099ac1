// The operator end to end on a real kube-apiserver (with the garbage collector of a
// real kube-controller-manager) against a real `openssl ocsp` responder.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { verifyResponse } from "../../src/ocsp/verify.ts";
import { startControlPlane, type ControlPlane } from "../control-plane/control-plane.ts";
import { freePort } from "../support/free-port.ts";
import { kubectl } from "../support/kube-tools.ts";
import { LoopbackOnlyTransport } from "../support/loopback-transport.ts";
import { startOpensslResponder, type OpensslResponder } from "../support/openssl-responder.ts";
import { createRootCa, goodEntry, revokedEntry, type Issued, type TestCa } from "../support/pki.ts";

const CRD = fileURLToPath(new URL("../../crds/stapleconfigs.ocsp-stapler.io.yaml", import.meta.url));
const NS = "shop";
const LABELS = { "ocsp-stapler.io/staple": "true" };

/** Polls until `probe` returns a value (not undefined), or fails after `seconds`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, seconds = 20): Promise<T> {
  const started = Date.now();
  while (Date.now() - started < seconds * 1000) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(100);
  }
  throw new Error(`timed out after ${seconds}s waiting for ${what}`);
}

void describe("the controller on a real API server", { timeout: 50 * 60_000 }, () => {
  let plane: ControlPlane;
  let core: CoreV1Api;
  let custom: CustomObjectsApi;
  let kubeConfig: KubeConfig;
  let ca: TestCa;
  let responder: OpensslResponder;
  let ocspUrl: string;
  const leaves = new Map<string, Issued>();
  const transport = new LoopbackOnlyTransport();
  let controller: Controller;

  const newController = () => new Controller({ kubeConfig, namespaces: [NS], transport, clock: systemClock, random: Math.random, logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }) });
  const leaf = async (name: string, state: "good" | "revoked" | "unknown" = "good"): Promise<Issued> => {
    const issued = await ca.issue({ commonName: `${name}.example`, ocspUrl });
    leaves.set(name, issued);
    if (state !== "unknown") {
      await responder.updateIndex([...leaves.entries()].filter(([key]) => key !== "unknown" && !key.startsWith("unknown")).map(([key, cert]) => (key.startsWith("revoked") ? revokedEntry(cert, new Date("2026-01-01T00:00:00Z"), "keyCompromise") : goodEntry(cert))));
    }
    return issued;
  };
  const tlsBody = (name: string, cert: Issued, labels: Record<string, string> = LABELS): V1Secret => ({
    metadata: { name, namespace: NS, labels },
    type: "kubernetes.io/tls",
    data: { "tls.crt": Buffer.from(cert.certPem + ca.certPem).toString("base64"), "tls.key": Buffer.from(cert.keyPem).toString("base64") },
  });
  const createTls = (name: string, cert: Issued, labels?: Record<string, string>) => core.createNamespacedSecret({ namespace: NS, body: tlsBody(name, cert, labels) });
  const readSecret = async (name: string): Promise<V1Secret | undefined> => {
    try {
      return await core.readNamespacedSecret({ name, namespace: NS });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  };
  const applyConfig = (name: string, spec: Record<string, unknown>) =>
    kubectl(plane.kubeconfigPath, ["apply", "-f", "-"], JSON.stringify({ apiVersion: "ocsp-stapler.io/v1alpha1", kind: "StapleConfig", metadata: { name, namespace: NS }, spec }));
  const statusOf = async (name: string) =>
    ((await custom.getNamespacedCustomObject({ group: "ocsp-stapler.io", version: "v1alpha1", namespace: NS, plural: "stapleconfigs", name })) as { status?: Record<string, unknown> }).status;

  before(async () => {
    plane = await startControlPlane({ garbageCollector: true });
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(plane.kubeconfigPath);
    core = kubeConfig.makeApiClient(CoreV1Api);
    custom = kubeConfig.makeApiClient(CustomObjectsApi);
    await kubectl(plane.kubeconfigPath, ["apply", "-f", CRD]);
    await kubectl(plane.kubeconfigPath, ["wait", "--for=condition=Established", "crd/stapleconfigs.ocsp-stapler.io"]);
    await kubectl(plane.kubeconfigPath, ["create", "namespace", NS]);
    ca = await createRootCa({ name: "controller", key: "p256" });
    const port = await freePort();
    ocspUrl = `http://127.0.0.1:${port}/`;
    responder = await startOpensslResponder({ ca, indexPath: await ca.writeIndex([]), port, nextUpdateDays: 7 });
    await applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    controller = newController();
    await controller.start();
  });
  after(async () => {
    await controller.stop();
    await transport.close();
    await responder.stop();
    await plane.stop();
    await ca.cleanup();
  });

  void it("staples a selected Secret: a companion with bytes that verify against the issuer", async () => {
    const cert = await leaf("web");
    await createTls("web-tls", cert);
    const companion = await eventually("the companion Secret", () => readSecret("web-tls-ocsp"));
    const der = new Uint8Array(Buffer.from(companion.data?.["tls.ocsp"] ?? "", "base64"));
    const [subject] = readCertificates(cert.certPem, "leaf");
    const [issuer] = readCertificates(ca.certPem, "issuer");
    assert.ok(subject && issuer);
    assert.equal(verifyResponse(der, { subject, issuer, at: new Date() }).certStatus.kind, "good");
    assert.equal(companion.metadata?.annotations?.["ocsp-stapler.io/serial"], cert.serialHex);
  });

  void it("reports it on the StapleConfig: Ready, counts, and kubectl's printer columns", async () => {
    const status = await eventually("a Ready status", async () => { const s = await statusOf("web"); return s?.stapled === 1 ? s : undefined; });
    assert.equal(status.selected, 1);
    assert.equal((status.conditions as { type: string; status: string }[]).find((c) => c.type === "Ready")?.status, "True");
    const table = await kubectl(plane.kubeconfigPath, ["get", "stapleconfigs", "-n", NS]);
    assert.match(table, /^web\s+True\s+1\s+1\s+0\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\d+s$/m);
  });

  void it("puts back a companion someone deleted", async () => {
    const before = await eventually("the companion", () => readSecret("web-tls-ocsp"));
    await core.deleteNamespacedSecret({ name: "web-tls-ocsp", namespace: NS });
    const again = await eventually("the companion back", async () => { const s = await readSecret("web-tls-ocsp"); return s?.metadata?.uid !== before.metadata?.uid ? s : undefined; });
    assert.ok(again.data?.["tls.ocsp"]);
  });

  void it("restaples within seconds when the certificate rotates", async () => {
    const renewed = await leaf("web-renewed");
    await core.replaceNamespacedSecret({ name: "web-tls", namespace: NS, body: tlsBody("web-tls", renewed) });
    await eventually("the renewed staple", async () => ((await readSecret("web-tls-ocsp"))?.metadata?.annotations?.["ocsp-stapler.io/serial"] === renewed.serialHex ? true : undefined));
  });

  void it("staples a revoked certificate as revoked", async () => {
    await createTls("revoked-tls", await leaf("revoked"));
    const companion = await eventually("the revoked staple", () => readSecret("revoked-tls-ocsp"));
    assert.equal(companion.metadata?.annotations?.["ocsp-stapler.io/cert-status"], "revoked");
  });

  void it("never staples unknown, and says why in the status", async () => {
    await createTls("unknown-tls", await leaf("unknown", "unknown"));
    const entry = await eventually("an unknown entry", async () => ((await statusOf("web"))?.secrets as { name: string; error?: { code: string } }[] | undefined)?.find((s) => s.name === "unknown-tls" && s.error !== undefined));
    assert.equal(entry.error?.code, "CertStatusUnknown");
    assert.equal(await readSecret("unknown-tls-ocsp"), undefined);
  });

  void it("removes the companion when the Secret is deselected", async () => {
    await createTls("leaving-tls", await leaf("leaving"));
    await eventually("the companion", () => readSecret("leaving-tls-ocsp"));
    await core.patchNamespacedSecret({ name: "leaving-tls", namespace: NS, body: [{ op: "remove", path: "/metadata/labels/ocsp-stapler.io~1staple" }] });
    await eventually("the companion to go", async () => ((await readSecret("leaving-tls-ocsp")) === undefined ? true : undefined));
  });

  void it("the companion is garbage-collected with its TLS Secret", async () => {
    await createTls("gone-tls", await leaf("gone"));
    await eventually("the companion", () => readSecret("gone-tls-ocsp"));
    await core.deleteNamespacedSecret({ name: "gone-tls", namespace: NS });
    await eventually("garbage collection", async () => ((await readSecret("gone-tls-ocsp")) === undefined ? true : undefined), 30);
  });

  void it("never overwrites a foreign Secret that holds the companion's name: TargetConflict", async () => {
    await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "taken-tls-ocsp" }, type: "Opaque", data: { mine: "a2VlcA==" } } });
    await createTls("taken-tls", await leaf("taken"));
    const entry = await eventually("a TargetConflict entry", async () => ((await statusOf("web"))?.secrets as { name: string; error?: { code: string } }[] | undefined)?.find((s) => s.name === "taken-tls" && s.error?.code === "TargetConflict"));
    assert.ok(entry);
    assert.deepEqual((await readSecret("taken-tls-ocsp"))?.data, { mine: "a2VlcA==" });
  });

  void it("a second StapleConfig over the same Secrets reports Conflict; the older keeps them", async () => {
    await applyConfig("also-web", { secretSelector: { matchLabels: LABELS } });
    const status = await eventually("the newer config's status", async () => { const s = await statusOf("also-web"); return s?.conditions === undefined ? undefined : s; });
    assert.equal(status.selected, 0);
    assert.ok((status.secrets as { error?: { code: string } }[]).every((entry) => entry.error?.code === "Conflict"));
    await kubectl(plane.kubeconfigPath, ["delete", "stapleconfig", "also-web", "-n", NS]);
  });

  void it("a restart rewrites nothing", async () => {
    const before = await core.listNamespacedSecret({ namespace: NS, labelSelector: "app.kubernetes.io/managed-by=ocsp-stapler" });
    const versions = new Map(before.items.map((secret) => [secret.metadata?.name, secret.metadata?.resourceVersion]));
    await controller.stop();
    controller = newController();
    await controller.start();
    await sleep(3_000);
    const afterRestart = await core.listNamespacedSecret({ namespace: NS, labelSelector: "app.kubernetes.io/managed-by=ocsp-stapler" });
    assert.deepEqual(new Map(afterRestart.items.map((secret) => [secret.metadata?.name, secret.metadata?.resourceVersion])), versions);
  });
});
