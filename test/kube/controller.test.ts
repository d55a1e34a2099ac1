// The operator end to end on a real kube-apiserver (with the garbage collector of a
// real kube-controller-manager) against a real `openssl ocsp` responder.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { certIdFor } from "../../src/ocsp/cert-id.ts";
import { parseCertIds } from "../../src/ocsp/cert-id-text.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { verifyResponse } from "../../src/ocsp/verify.ts";
import { conditionOf, eventually, KubeEnv } from "../support/kube-env.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import type { OpensslResponder } from "../support/openssl-responder.ts";
import type { Issued, TestCa } from "../support/pki.ts";

const NS = "shop";
const LABELS = { "ocsp-stapler.io/staple": "true" };

void describe("the controller on a real API server", { timeout: 50 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let ca: TestCa;
  let responder: OpensslResponder;
  let controller: Controller;

  const newController = () => new Controller({ kubeConfig: env.kubeConfig, namespaces: [NS], transport: rig.transport, clock: systemClock, random: Math.random, logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }) });
  const leaf = (name: string, state?: "good" | "revoked" | "unknown") => rig.leaf(name, state);
  const createTls = async (name: string, cert: Issued) => { await env.createTls(name, cert, ca, LABELS); };

  before(async () => {
    env = await KubeEnv.start(NS, { garbageCollector: true });
    rig = await OcspRig.start("controller");
    ({ ca, responder } = rig);
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    controller = newController();
    await controller.start();
  });
  after(async () => {
    await controller.stop();
    await rig.stop();
    await env.stop();
  });

  void it("staples a selected Secret: a companion with bytes that verify against the issuer", async () => {
    const cert = await leaf("web");
    await createTls("web-tls", cert);
    const companion = await eventually("the companion Secret", () => env.readSecret("web-tls-ocsp"));
    const der = new Uint8Array(Buffer.from(companion.data?.["tls.ocsp"] ?? "", "base64"));
    const [subject] = readCertificates(cert.certPem, "leaf");
    const [issuer] = readCertificates(ca.certPem, "issuer");
    assert.ok(subject && issuer);
    const verified = verifyResponse(der, { subject, issuer, at: new Date() });
    assert.equal(verified.certStatus.kind, "good");
    const annotations = companion.metadata?.annotations ?? {};
    assert.equal(annotations["ocsp-stapler.io/serial"], cert.serialHex);
    // What the in-cluster responder serves it by: until when, and under the CertIDs of both hashes requests use.
    assert.equal(annotations["ocsp-stapler.io/usable-until"], verified.usableUntil.toISOString());
    assert.deepEqual(parseCertIds(annotations["ocsp-stapler.io/cert-ids"] ?? ""), [certIdFor(subject.serial, issuer, "sha1"), certIdFor(subject.serial, issuer, "sha256")]);
  });

  void it("records a Stapled Event on the TLS Secret and on the StapleConfig", async () => {
    await eventually("the Events", async () => ((await env.eventReasons("Secret", "web-tls")).includes("Stapled") ? true : undefined));
    assert.ok((await env.eventReasons("StapleConfig", "web")).includes("Stapled"));
  });

  void it("reports it on the StapleConfig: Ready, counts, and kubectl's printer columns", async () => {
    const status = await eventually("a Ready status", async () => { const s = await env.statusOf("web"); return s?.stapled === 1 ? s : undefined; });
    assert.equal(status.selected, 1);
    assert.equal(conditionOf(status, "Ready")?.status, "True");
    const table = await env.kubectl(["get", "stapleconfigs", "-n", NS]);
    assert.match(table, /^web\s+True\s+1\s+1\s+0\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\d+s$/m);
  });

  void it("puts back a companion someone deleted", async () => {
    const before = await eventually("the companion", () => env.readSecret("web-tls-ocsp"));
    await env.core.deleteNamespacedSecret({ name: "web-tls-ocsp", namespace: NS });
    const again = await eventually("the companion back", async () => { const s = await env.readSecret("web-tls-ocsp"); return s?.metadata?.uid !== before.metadata?.uid ? s : undefined; });
    assert.ok(again.data?.["tls.ocsp"]);
  });

  void it("restaples within seconds when the certificate rotates", async () => {
    const renewed = await leaf("web-renewed");
    await env.core.replaceNamespacedSecret({ name: "web-tls", namespace: NS, body: env.tlsBody("web-tls", renewed, ca, LABELS) });
    await eventually("the renewed staple", async () => ((await env.readSecret("web-tls-ocsp"))?.metadata?.annotations?.["ocsp-stapler.io/serial"] === renewed.serialHex ? true : undefined));
  });

  void it("staples a revoked certificate as revoked", async () => {
    await createTls("revoked-tls", await leaf("revoked", "revoked"));
    const companion = await eventually("the revoked staple", () => env.readSecret("revoked-tls-ocsp"));
    assert.equal(companion.metadata?.annotations?.["ocsp-stapler.io/cert-status"], "revoked");
    await eventually("a Revoked Event", async () => ((await env.eventReasons("Secret", "revoked-tls")).includes("Revoked") ? true : undefined));
  });

  void it("never staples unknown, and says why in the status", async () => {
    await createTls("unknown-tls", await leaf("unknown", "unknown"));
    const entry = await env.entry("web", "unknown-tls", (candidate) => candidate.error !== undefined);
    assert.equal(entry.error?.code, "CertStatusUnknown");
    assert.equal(await env.readSecret("unknown-tls-ocsp"), undefined);
  });

  void it("Secrets sharing a certificate share one OCSP request", async () => {
    const shared = await leaf("shared");
    const before = responder.requests.length;
    await createTls("shared-a-tls", shared);
    await eventually("the first staple", () => env.readSecret("shared-a-tls-ocsp"));
    await createTls("shared-b-tls", shared);
    await createTls("shared-c-tls", shared);
    await eventually("the other staples", async () => ((await env.readSecret("shared-b-tls-ocsp")) !== undefined && (await env.readSecret("shared-c-tls-ocsp")) !== undefined ? true : undefined));
    assert.equal(responder.requests.length - before, 1);
  });

  void it("editing a StapleConfig's selector moves Secrets out, and their companions go", async () => {
    await env.core.createNamespacedSecret({ namespace: NS, body: env.tlsBody("tier-tls", await leaf("tier"), ca, { ...LABELS, tier: "old" }) });
    await eventually("the companion", () => env.readSecret("tier-tls-ocsp"));
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS, matchExpressions: [{ key: "tier", operator: "NotIn", values: ["old"] }] } });
    await eventually("the companion to go", async () => ((await env.readSecret("tier-tls-ocsp")) === undefined ? true : undefined));
    assert.ok(await env.readSecret("web-tls-ocsp"), "Secrets still selected keep theirs");
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    await eventually("the companion back", () => env.readSecret("tier-tls-ocsp"));
  });

  void it("a Secret whose tls.crt is garbage is reported, never crashes the controller", async () => {
    await env.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "garbage-tls", labels: LABELS }, type: "kubernetes.io/tls", data: { "tls.crt": Buffer.from("not a certificate").toString("base64"), "tls.key": "a2V5" } } });
    const entry = await env.entry("web", "garbage-tls", (candidate) => candidate.error !== undefined);
    assert.equal(entry.error?.code, "BadCertificate");
    assert.equal(await env.readSecret("garbage-tls-ocsp"), undefined);
    assert.ok(controller.synced);
  });

  void it("removes the companion when the Secret is deselected", async () => {
    await createTls("leaving-tls", await leaf("leaving"));
    await eventually("the companion", () => env.readSecret("leaving-tls-ocsp"));
    await env.core.patchNamespacedSecret({ name: "leaving-tls", namespace: NS, body: [{ op: "remove", path: "/metadata/labels/ocsp-stapler.io~1staple" }] });
    await eventually("the companion to go", async () => ((await env.readSecret("leaving-tls-ocsp")) === undefined ? true : undefined));
  });

  void it("the companion is garbage-collected with its TLS Secret", async () => {
    await createTls("gone-tls", await leaf("gone"));
    await eventually("the companion", () => env.readSecret("gone-tls-ocsp"));
    await env.core.deleteNamespacedSecret({ name: "gone-tls", namespace: NS });
    await eventually("garbage collection", async () => ((await env.readSecret("gone-tls-ocsp")) === undefined ? true : undefined), 30);
  });

  void it("never overwrites a foreign Secret that holds the companion's name: TargetConflict", async () => {
    await env.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "taken-tls-ocsp" }, type: "Opaque", data: { mine: "a2VlcA==" } } });
    await createTls("taken-tls", await leaf("taken"));
    await env.entry("web", "taken-tls", (candidate) => candidate.error?.code === "TargetConflict");
    assert.deepEqual((await env.readSecret("taken-tls-ocsp"))?.data, { mine: "a2VlcA==" });
  });

  void it("a second StapleConfig over the same Secrets reports Conflict; the older keeps them", async () => {
    await env.applyConfig("also-web", { secretSelector: { matchLabels: LABELS } });
    const status = await eventually("the newer config's status", async () => { const s = await env.statusOf("also-web"); return s?.conditions === undefined ? undefined : s; });
    assert.equal(status.selected, 0);
    assert.ok(status.secrets?.every((entry) => entry.error?.code === "Conflict"));
    assert.equal(conditionOf(status, "Degraded")?.reason, "Conflict");
    await env.kubectl(["delete", "stapleconfig", "also-web", "-n", NS]);
  });

  void it("a restart rewrites nothing: no companion, and no status (each staple's refresh time is its own, not drawn again)", async () => {
    // A new process retries a failing Secret at once, which moves its retry time in the status: those go first.
    for (const name of ["unknown-tls", "garbage-tls", "taken-tls"]) await env.core.deleteNamespacedSecret({ name, namespace: NS });
    await eventually("a status without failures", async () => ((await env.statusOf("web"))?.failing === 0 ? true : undefined));
    await controller.whenIdle();
    const managed = async () => new Map((await env.core.listNamespacedSecret({ namespace: NS, labelSelector: "app.kubernetes.io/managed-by=ocsp-stapler" })).items.map((secret) => [secret.metadata?.name, secret.metadata?.resourceVersion]));
    const versions = await managed();
    await controller.stop();
    controller = newController();
    await controller.start();
    // The positive signal that it has looked at every Secret, computed the status (its batch included)
    // and recorded its Events: only then can "nothing" be asserted.
    await controller.whenIdle();
    const sources = [...versions.keys()].map((companion) => `${NS}/${String(companion).replace(/-ocsp$/, "")}`);
    assert.deepEqual(sources.filter((key) => !controller.secretStates.has(key)), [], "every stapled Secret was looked at");
    assert.deepEqual(await managed(), versions);
    const writes = Object.fromEntries((await controller.metrics.apiWrites.get()).values.map((value) => [String(value.labels.kind), value.value]));
    assert.deepEqual(writes, {}, "no write of any kind, the StapleConfig status included");
  });
});
