// Writing companion Secrets on a real kube-apiserver: server-side apply with our
// field manager, DESIGN.md's labels and annotations, an owner reference to the TLS
// Secret, the exact verified bytes; a new companion created by one create-only apply
// and no GET, and applied later like any other; no request when nothing changed (and,
// with the companion in the controller's cache, not even a GET); a foreign Secret of
// the same name left untouched, an immutable one refused.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { CoreV1Api, KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { certIdsFor } from "../../src/ocsp/cert-id.ts";
import { formatCertIds } from "../../src/ocsp/cert-id-text.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import type { VerifiedResponse } from "../../src/ocsp/verified-response.ts";
import { verifyResponse } from "../../src/ocsp/verify.ts";
import { companionSecret, type SourceSecret, type StapleToWrite } from "../../src/kube/companion-secret.ts";
import { toCompanionSnapshot } from "../../src/kube/companion-snapshot.ts";
import { writeCompanion } from "../../src/kube/companion-writer.ts";
import { FIELD_MANAGER } from "../../src/kube/metadata-keys.ts";
import { startControlPlane, type ControlPlane } from "../control-plane/control-plane.ts";
import { countRequests, requestsBetween } from "../support/apiserver-requests.ts";
import { makeOfflineResponse } from "../support/offline-response.ts";
import { createRootCa, goodEntry, type Issued, type TestCa } from "../support/pki.ts";
import { waitFor } from "../support/wait-for.ts";

const NS = "default";
const TARGET = { nameSuffix: "-ocsp", keys: ["tls.ocsp", "tls.crt.ocsp"], labels: { team: "web" }, annotations: { note: "from the StapleConfig" } };

void describe("companion Secrets on a real API server", { timeout: 50 * 60_000 }, () => {
  let plane: ControlPlane;
  let api: CoreV1Api;
  let ca: TestCa;
  let leaf: Issued;
  let index: string;

  const verifiedStaple = async (): Promise<VerifiedResponse> => {
    const der = await makeOfflineResponse({ subject: leaf, ca, index, noCerts: true });
    const [subject] = readCertificates(leaf.certPem, "leaf");
    const [issuer] = readCertificates(ca.certPem, "issuer");
    assert.ok(subject && issuer);
    return verifyResponse(der, { subject, issuer, at: new Date() });
  };
  /** A fresh staple whose thisUpdate (whole seconds) is later than `than`'s: asked for until the responder's clock has moved on. */
  const laterStaple = (than: VerifiedResponse): Promise<VerifiedResponse> =>
    waitFor(async () => { const next = await verifiedStaple(); return next.thisUpdate > than.thisUpdate ? next : undefined; }, "a staple with a later thisUpdate", 5_000, 100);
  const toWrite = (response: VerifiedResponse): StapleToWrite => {
    const [issuer] = readCertificates(ca.certPem, "issuer");
    assert.ok(issuer);
    return { response, responder: "http://127.0.0.1:9/", certificateSha256: "a".repeat(64), certIds: certIdsFor(response.serial, issuer) };
  };
  const tlsSecret = async (name: string): Promise<SourceSecret> => {
    const created = await api.createNamespacedSecret({
      namespace: NS,
      body: { metadata: { name }, type: "kubernetes.io/tls", data: { "tls.crt": Buffer.from(leaf.certPem).toString("base64"), "tls.key": Buffer.from(leaf.keyPem).toString("base64") } },
    });
    assert.ok(created.metadata?.uid);
    return { name, namespace: NS, uid: created.metadata.uid };
  };

  before(async () => {
    plane = await startControlPlane();
    const config = new KubeConfig();
    config.loadFromFile(plane.kubeconfigPath);
    api = config.makeApiClient(CoreV1Api);
    ca = await createRootCa({ name: "companion", key: "p256" });
    leaf = await ca.issue({ commonName: "web.example" });
    index = await ca.writeIndex([goodEntry(leaf)]);
  });
  after(async () => { await plane.stop(); await ca.cleanup(); });

  void it("writes the verified bytes under every key, with DESIGN.md's metadata, owned by the TLS Secret", async () => {
    const source = await tlsSecret("web-tls");
    const response = await verifiedStaple();
    assert.deepEqual(await writeCompanion(api, companionSecret(source, TARGET, toWrite(response))), { result: "written" });
    const stored = await api.readNamespacedSecret({ name: "web-tls-ocsp", namespace: NS });
    assert.equal(stored.type, "Opaque");
    for (const key of TARGET.keys) assert.deepEqual(Buffer.from(stored.data?.[key] ?? "", "base64"), Buffer.from(response.der));
    assert.ok(stored.metadata);
    assert.deepEqual(stored.metadata.labels, { team: "web", "app.kubernetes.io/managed-by": "ocsp-stapler", "ocsp-stapler.io/source": "web-tls" });
    const annotations = stored.metadata.annotations ?? {};
    assert.equal(annotations["ocsp-stapler.io/cert-status"], "good");
    assert.equal(annotations["ocsp-stapler.io/this-update"], response.thisUpdate.toISOString());
    assert.equal(annotations["ocsp-stapler.io/serial"], leaf.serialHex);
    assert.equal(annotations["ocsp-stapler.io/usable-until"], response.usableUntil.toISOString());
    assert.equal(annotations["ocsp-stapler.io/cert-ids"], formatCertIds(toWrite(response).certIds));
    assert.equal(annotations.note, "from the StapleConfig");
    assert.deepEqual(stored.metadata.ownerReferences?.map((owner) => [owner.kind, owner.name, owner.uid]), [["Secret", "web-tls", source.uid]]);
    assert.deepEqual(stored.metadata.managedFields?.map((entry) => [entry.manager, entry.operation]), [["ocsp-stapler", "Apply"]]);
  });

  void it("a first write of new companions: one apply each, and not one GET", async () => {
    const sources = await Promise.all(Array.from({ length: 20 }, (_, i) => tlsSecret(`fresh-${i}-tls`)));
    const staple = toWrite(await verifiedStaple());
    const before = await countRequests(plane);
    const outcomes = await Promise.all(sources.map((source) => writeCompanion(api, companionSecret(source, TARGET, staple))));
    const seen = requestsBetween(before, await countRequests(plane));
    assert.deepEqual(outcomes.map((outcome) => outcome.result), sources.map(() => "written"));
    assert.deepEqual([seen.secretGets, seen.secretWrites], [0, sources.length], "Secret GETs and writes the API server saw");
    const stored = await api.readNamespacedSecret({ name: "fresh-0-tls-ocsp", namespace: NS });
    assert.deepEqual(stored.metadata?.managedFields?.map((entry) => [entry.manager, entry.operation]), [["ocsp-stapler", "Apply"]]);
  });

  void it("a companion created that way is applied later like any other: keys, labels and annotations dropped go, nothing stays behind", async () => {
    const source = await tlsSecret("moved-tls");
    const first = await verifiedStaple();
    assert.deepEqual(await writeCompanion(api, companionSecret(source, TARGET, toWrite(first))), { result: "written" });
    // The StapleConfig's target changed: one key instead of two, another label, no annotation of its own.
    const narrower = { nameSuffix: "-ocsp", keys: ["tls.ocsp"], labels: { tier: "edge" } };
    const second = await laterStaple(first);
    assert.deepEqual(await writeCompanion(api, companionSecret(source, narrower, toWrite(second))), { result: "written" });
    const stored = await api.readNamespacedSecret({ name: "moved-tls-ocsp", namespace: NS });
    assert.deepEqual(Object.keys(stored.data ?? {}), ["tls.ocsp"]);
    assert.deepEqual(Buffer.from(stored.data?.["tls.ocsp"] ?? "", "base64"), Buffer.from(second.der));
    assert.ok(stored.metadata);
    assert.deepEqual(stored.metadata.labels, { tier: "edge", "app.kubernetes.io/managed-by": "ocsp-stapler", "ocsp-stapler.io/source": "moved-tls" });
    assert.equal(stored.metadata.annotations?.note, undefined);
    assert.equal(stored.metadata.annotations?.["ocsp-stapler.io/this-update"], second.thisUpdate.toISOString());
    assert.deepEqual(stored.metadata.managedFields?.map((entry) => [entry.manager, entry.operation]), [["ocsp-stapler", "Apply"]]);
  });

  void it("why the create is an apply, not a POST: fields a POST created outlive the apply that drops them", async () => {
    const source = await tlsSecret("posted-tls");
    const first = await verifiedStaple();
    const body = companionSecret(source, TARGET, toWrite(first));
    await api.createNamespacedSecret({ namespace: NS, body: structuredClone(body) as V1Secret, fieldManager: FIELD_MANAGER });
    const narrower = { nameSuffix: "-ocsp", keys: ["tls.ocsp"] };
    assert.deepEqual(await writeCompanion(api, companionSecret(source, narrower, toWrite(await laterStaple(first)))), { result: "written" });
    const stored = await api.readNamespacedSecret({ name: "posted-tls-ocsp", namespace: NS });
    // Still there, owned by the POST's Update entry; a create-only apply (above) leaves no such entry.
    assert.deepEqual(Object.keys(stored.data ?? {}).sort(), ["tls.crt.ocsp", "tls.ocsp"]);
    assert.ok(stored.metadata);
    assert.equal(stored.metadata.labels?.team, "web");
    assert.deepEqual(stored.metadata.managedFields?.map((entry) => [entry.manager, entry.operation]).sort(), [["ocsp-stapler", "Apply"], ["ocsp-stapler", "Update"]]);
  });

  void it("our own companion the cache has not brought yet is updated: the create finds it, it is read, then applied", async () => {
    const source = await tlsSecret("lagging-tls");
    const first = await verifiedStaple();
    await writeCompanion(api, companionSecret(source, TARGET, toWrite(first)));
    const uid = (await api.readNamespacedSecret({ name: "lagging-tls-ocsp", namespace: NS })).metadata?.uid;
    const newer = companionSecret(source, TARGET, toWrite(await laterStaple(first)));
    const before = await countRequests(plane);
    assert.deepEqual(await writeCompanion(api, newer), { result: "written" });
    const seen = requestsBetween(before, await countRequests(plane));
    // The refused create, the GET, the apply.
    assert.deepEqual([seen.secretWrites, seen.secretGets], [2, 1]);
    const stored = await api.readNamespacedSecret({ name: "lagging-tls-ocsp", namespace: NS });
    assert.equal(stored.metadata?.uid, uid);
    assert.equal(stored.metadata?.annotations?.["ocsp-stapler.io/this-update"], newer.metadata.annotations["ocsp-stapler.io/this-update"]);
    assert.deepEqual(stored.metadata?.ownerReferences?.map((owner) => owner.uid), [source.uid]);
  });

  void it("the same staple again before our write's echo: read, not created again", async () => {
    const source = await tlsSecret("echo-tls");
    const body = companionSecret(source, TARGET, toWrite(await verifiedStaple()));
    let announced: string | undefined;
    await writeCompanion(api, body, { beforeApply: (digest) => { announced = digest; } });
    assert.ok(announced);
    const readOnly = new Proxy(api, { get: (target, name) => (name === "patchNamespacedSecret" ? () => { throw new Error("no write was expected"); } : Reflect.get(target, name) as unknown) });
    assert.deepEqual(await writeCompanion(readOnly, body, { pending: announced }), { result: "unchanged" });
  });

  void it("sends nothing when the stored Secret already holds the same staple", async () => {
    const source = await tlsSecret("same-tls");
    const body = companionSecret(source, TARGET, toWrite(await verifiedStaple()));
    await writeCompanion(api, body);
    const before = (await api.readNamespacedSecret({ name: "same-tls-ocsp", namespace: NS })).metadata?.resourceVersion;
    assert.deepEqual(await writeCompanion(api, body), { result: "unchanged" });
    assert.equal((await api.readNamespacedSecret({ name: "same-tls-ocsp", namespace: NS })).metadata?.resourceVersion, before);
  });

  void it("with the companion in the cache: nothing is sent when it holds the same staple, and a new one is applied without a GET", async () => {
    const source = await tlsSecret("cached-tls");
    const first = await verifiedStaple();
    const body = companionSecret(source, TARGET, toWrite(first));
    await writeCompanion(api, body);
    const cached = toCompanionSnapshot(await api.readNamespacedSecret({ name: "cached-tls-ocsp", namespace: NS }));
    assert.ok(cached);
    // A client that fails every call: the no-op is decided from the cache alone.
    const noCalls = new Proxy({}, { get: () => () => { throw new Error("no request was expected"); } }) as CoreV1Api;
    assert.deepEqual(await writeCompanion(noCalls, body, { cached }), { result: "unchanged" });
    const newer = companionSecret(source, TARGET, toWrite(await laterStaple(first)));
    const patchOnly = new Proxy(api, { get: (target, name) => (name === "readNamespacedSecret" ? () => { throw new Error("no GET was expected"); } : Reflect.get(target, name) as unknown) });
    assert.deepEqual(await writeCompanion(patchOnly, newer, { cached }), { result: "written" });
    // The cache has not seen that write yet (its watch is behind): the same staple again is checked with a GET, not applied twice.
    assert.deepEqual(await writeCompanion(api, newer, { cached, pending: toCompanionSnapshot(await api.readNamespacedSecret({ name: "cached-tls-ocsp", namespace: NS }))?.contentSha256 }), { result: "unchanged" });
    assert.equal((await api.readNamespacedSecret({ name: "cached-tls-ocsp", namespace: NS })).metadata?.annotations?.["ocsp-stapler.io/this-update"], newer.metadata.annotations["ocsp-stapler.io/this-update"]);
  });

  void it("a newer staple replaces the bytes and the dates", async () => {
    const source = await tlsSecret("newer-tls");
    const first = await verifiedStaple();
    await writeCompanion(api, companionSecret(source, TARGET, toWrite(first)));
    // thisUpdate has whole seconds: a staple made within the same second is not newer.
    const second = await laterStaple(first);
    assert.deepEqual(await writeCompanion(api, companionSecret(source, TARGET, toWrite(second))), { result: "written" });
    const stored = await api.readNamespacedSecret({ name: "newer-tls-ocsp", namespace: NS });
    assert.deepEqual(Buffer.from(stored.data?.["tls.ocsp"] ?? "", "base64"), Buffer.from(second.der));
    assert.equal(stored.metadata?.annotations?.["ocsp-stapler.io/this-update"], second.thisUpdate.toISOString());
  });

  void it("never overwrites a Secret it does not manage: TargetConflict, the Secret untouched", async () => {
    const source = await tlsSecret("taken-tls");
    await api.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "taken-tls-ocsp" }, type: "Opaque", data: { mine: Buffer.from("keep me").toString("base64") } } });
    const outcome = await writeCompanion(api, companionSecret(source, TARGET, toWrite(await verifiedStaple())));
    assert.equal(outcome.result, "conflict");
    const stored = await api.readNamespacedSecret({ name: "taken-tls-ocsp", namespace: NS });
    assert.deepEqual(stored.data, { mine: Buffer.from("keep me").toString("base64") });
    assert.deepEqual(stored.metadata?.managedFields?.map((entry) => entry.operation), ["Update"]);
  });

  void it("an immutable Secret of ours under that name: WriteRefused, the Secret untouched", async () => {
    const source = await tlsSecret("frozen-tls");
    const labels = { "app.kubernetes.io/managed-by": "ocsp-stapler", "ocsp-stapler.io/source": "frozen-tls" };
    const old = { "tls.ocsp": Buffer.from("old staple").toString("base64") };
    await api.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "frozen-tls-ocsp", labels }, type: "Opaque", immutable: true, data: old } });
    const outcome = await writeCompanion(api, companionSecret(source, TARGET, toWrite(await verifiedStaple())));
    assert.ok(outcome.result === "conflict");
    assert.equal(outcome.reason, "WriteRefused");
    assert.match(outcome.message, /immutable/);
    assert.deepEqual((await api.readNamespacedSecret({ name: "frozen-tls-ocsp", namespace: NS })).data, old);
  });
});
