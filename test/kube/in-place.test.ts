// InPlace mode on a real API server: the staple goes into the TLS Secret itself
// (Istio, kgateway, Envoy Gateway read it there), beside fields another manager
// owns (cert-manager renewing the certificate, by update and by apply).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PatchStrategy, setHeaderOptions, Watch, type V1Secret } from "@kubernetes/client-node";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { certIdsFor } from "../../src/ocsp/cert-id.ts";
import { formatCertIds } from "../../src/ocsp/cert-id-text.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { verifyResponse } from "../../src/ocsp/verify.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import type { Issued } from "../support/pki.ts";

const NS = "gateways";
const LABELS = { "ocsp-stapler.io/staple": "true" };
const KEYS = ["tls.ocsp-staple", "ocsp.staple"];
/** What another manager (cert-manager) keeps on the Secret: never ours to touch. */
const FOREIGN = { annotation: ["cert-manager.io/issuer-name", "letsencrypt"] as const };

void describe("InPlace mode on a real API server", { timeout: 50 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;
  const versions: V1Secret[] = [];
  let stopWatch: (() => void) | undefined;

  const read = async () => { const secret = await env.readSecret("gw-tls"); assert.ok(secret); return secret; };
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const decoded = (secret: V1Secret, key: string) => Buffer.from(secret.data?.[key] ?? "", "base64").toString("latin1");
  /** Whether a staple in the Secret verifies for this leaf. */
  const stapledFor = (secret: V1Secret, cert: Issued) => {
    const der = secret.data?.[KEYS[0] ?? ""];
    if (der === undefined) return false;
    const [subject] = readCertificates(cert.certPem, "leaf");
    const [issuer] = readCertificates(rig.ca.certPem, "issuer");
    assert.ok(subject && issuer);
    try { return verifyResponse(new Uint8Array(Buffer.from(der, "base64")), { subject, issuer, at: new Date() }).certStatus.kind === "good"; } catch { return false; }
  };
  /** What cert-manager does on renewal: read the Secret, change tls.crt and tls.key, write all of it back. */
  const renewByUpdate = async (cert: Issued) => {
    const current = await read();
    current.data = { ...current.data, "tls.crt": b64(cert.certPem + rig.ca.certPem), "tls.key": b64(cert.keyPem) };
    return env.core.replaceNamespacedSecret({ name: "gw-tls", namespace: NS, fieldManager: "cert-manager-certificates-issuing", body: current });
  };
  const hasStaple = (secret: V1Secret) => KEYS.some((key) => secret.data?.[key] !== undefined) || Object.keys(secret.metadata?.annotations ?? {}).some((name) => name.startsWith("ocsp-stapler.io/"));

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("in-place");
    // A long retry: a write wrongly refused (a false TargetConflict after a renewal) would not heal within the test.
    await env.applyConfig("gw", { secretSelector: { matchLabels: LABELS }, target: { mode: "InPlace", keys: KEYS }, refresh: { retry: { initial: "10m", max: "30m" } } });
    controller = new Controller({ kubeConfig: env.kubeConfig, namespaces: [NS], transport: rig.transport, clock: systemClock, random: Math.random, logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }) });
    await controller.start();
    const request = await new Watch(env.kubeConfig).watch(`/api/v1/namespaces/${NS}/secrets`, { fieldSelector: "metadata.name=gw-tls" }, (_type, object: V1Secret) => { versions.push(object); }, () => undefined);
    stopWatch = () => { request.abort(); };
  });
  after(async () => {
    stopWatch?.();
    await controller.stop();
    await rig.stop();
    await env.stop();
  });

  let first: Issued;
  void it("writes the staple under every key of the TLS Secret, with our annotations, and nothing else", async () => {
    first = await rig.leaf("gw");
    const body = env.tlsBody("gw-tls", first, rig.ca, LABELS);
    body.metadata = { name: "gw-tls", namespace: NS, labels: LABELS, annotations: { [FOREIGN.annotation[0]]: FOREIGN.annotation[1] } };
    await env.core.createNamespacedSecret({ namespace: NS, body, fieldManager: "cert-manager-certificates-issuing" });
    const secret = await eventually("the staple in the TLS Secret", async () => { const s = await read(); return stapledFor(s, first) ? s : undefined; });
    assert.equal(secret.data?.[KEYS[1] ?? ""], secret.data?.[KEYS[0] ?? ""]);
    assert.equal(secret.type, "kubernetes.io/tls");
    const annotations = secret.metadata?.annotations ?? {};
    assert.equal(annotations["ocsp-stapler.io/serial"], first.serialHex);
    assert.equal(annotations["ocsp-stapler.io/staple-keys"], KEYS.join(","));
    // The in-cluster responder's annotations are on the TLS Secret too (and go with ours on deselection).
    const [subject, issuer] = [...readCertificates(first.certPem, "leaf"), ...readCertificates(rig.ca.certPem, "issuer")];
    assert.ok(subject && issuer);
    const verified = verifyResponse(new Uint8Array(Buffer.from(secret.data?.[KEYS[0] ?? ""] ?? "", "base64")), { subject, issuer, at: new Date() });
    assert.equal(annotations["ocsp-stapler.io/usable-until"], verified.usableUntil.toISOString());
    assert.equal(annotations["ocsp-stapler.io/cert-ids"], formatCertIds(certIdsFor(subject.serial, issuer)));
    assert.equal(annotations[FOREIGN.annotation[0]], FOREIGN.annotation[1]);
    assert.equal(decoded(secret, "tls.key"), first.keyPem);
    // Server-side apply: ocsp-stapler owns exactly its keys and annotations, cert-manager the rest.
    const ours = (secret.metadata?.managedFields ?? []).find((entry) => entry.manager === "ocsp-stapler");
    assert.equal(ours?.operation, "Apply");
    const owned = JSON.stringify(ours.fieldsV1);
    for (const key of KEYS) assert.ok(owned.includes(`f:${key}`), owned);
    assert.doesNotMatch(owned, /f:tls\.crt|f:tls\.key|f:type|f:labels|cert-manager/);
  });

  void it("a renewal by update: the old staple is gone by our next write, and a staple for the new certificate follows; the other manager's fields stay", async () => {
    const renewed = await rig.leaf("gw-renewed");
    // cert-manager reads, changes tls.crt and tls.key, and writes the whole Secret back: it now co-owns our keys too.
    const sent = versions.length;
    const replaced = await renewByUpdate(renewed);
    const secret = await eventually("the staple for the renewed certificate", async () => { const s = await read(); return stapledFor(s, renewed) ? s : undefined; });
    // Every version after the renewal: none but the renewal itself pairs the new certificate with the old staple.
    const renewal = Number(replaced.metadata?.resourceVersion);
    const after = versions.slice(sent).filter((version) => Number(version.metadata?.resourceVersion) > renewal);
    assert.ok(after.length >= 1);
    for (const version of after) assert.ok(!stapledFor(version, first), `version ${version.metadata?.resourceVersion ?? ""} still holds the old staple`);
    assert.equal(decoded(secret, "tls.crt"), renewed.certPem + rig.ca.certPem);
    assert.equal(decoded(secret, "tls.key"), renewed.keyPem);
    assert.equal(secret.metadata?.annotations?.[FOREIGN.annotation[0]], FOREIGN.annotation[1]);
    assert.deepEqual(secret.metadata.labels, LABELS);
    first = renewed;
  });

  void it("a renewal by apply to a certificate the responder does not know: the old staple goes at once, none replaces it", async () => {
    const unknown = await rig.leaf("gw-unknown", "unknown");
    await env.core.patchNamespacedSecret({
      name: "gw-tls", namespace: NS, fieldManager: "cert-manager-apply", force: true,
      body: { apiVersion: "v1", kind: "Secret", metadata: { name: "gw-tls", namespace: NS }, data: { "tls.crt": b64(unknown.certPem + rig.ca.certPem), "tls.key": b64(unknown.keyPem) } },
    }, setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply));
    const secret = await eventually("the old staple removed", async () => { const s = await read(); return hasStaple(s) ? undefined : s; });
    assert.equal(decoded(secret, "tls.crt"), unknown.certPem + rig.ca.certPem);
    assert.equal(decoded(secret, "tls.key"), unknown.keyPem);
    assert.equal(secret.metadata?.annotations?.[FOREIGN.annotation[0]], FOREIGN.annotation[1]);
    const entry = await env.entry("gw", "gw-tls", (candidate) => candidate.error !== undefined);
    assert.equal(entry.error?.code, "CertStatusUnknown");
    assert.equal(entry.staple, undefined, "the status does not claim a staple that was removed");
  });

  void it("deselection takes our keys and annotations out and leaves everything else", async () => {
    const known = await rig.leaf("gw-known");
    await renewByUpdate(known);
    const stapled = await eventually("the staple for the known certificate", async () => { const s = await read(); return stapledFor(s, known) ? s : undefined; });
    for (const name of ["ocsp-stapler.io/usable-until", "ocsp-stapler.io/cert-ids"]) assert.ok(stapled.metadata?.annotations?.[name] !== undefined, name);
    await env.core.patchNamespacedSecret({ name: "gw-tls", namespace: NS, body: [{ op: "remove", path: "/metadata/labels/ocsp-stapler.io~1staple" }] });
    const secret = await eventually("our keys removed", async () => { const s = await read(); return hasStaple(s) ? undefined : s; });
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), ["tls.crt", "tls.key"]);
    assert.equal(decoded(secret, "tls.key"), known.keyPem);
    assert.deepEqual(secret.metadata?.annotations, { [FOREIGN.annotation[0]]: FOREIGN.annotation[1] });
  });

  void it("never takes over a staple key someone else wrote: TargetConflict, the key untouched", async () => {
    const body = env.tlsBody("foreign-tls", await rig.leaf("foreign"), rig.ca, LABELS);
    body.data = { ...body.data, [KEYS[0] ?? ""]: b64("not ours") };
    await env.core.createNamespacedSecret({ namespace: NS, body });
    const entry = await env.entry("gw", "foreign-tls", (candidate) => candidate.error !== undefined);
    assert.equal(entry.error?.code, "TargetConflict");
    const secret = await env.readSecret("foreign-tls");
    assert.equal(secret?.data?.[KEYS[0] ?? ""], b64("not ours"));
    assert.equal(secret.data[KEYS[1] ?? ""], undefined);
  });

  void it("an immutable TLS Secret: TargetConflict that says so, and no write attempted", async () => {
    const body = env.tlsBody("frozen-tls", await rig.leaf("frozen"), rig.ca, LABELS);
    body.immutable = true;
    await env.core.createNamespacedSecret({ namespace: NS, body });
    const entry = await env.entry("gw", "frozen-tls", (candidate) => candidate.error !== undefined);
    assert.equal(entry.error?.code, "TargetConflict");
    assert.match(entry.error.message ?? "", /immutable/);
  });
});
