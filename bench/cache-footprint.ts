// What each per-Secret structure of the controller costs in memory, measured one at a
// time: 10,000 of it built from realistic objects (a P-256 leaf and its CA, a real
// staple), the heap after a full collection before and after, divided by 10,000.
// docs/scale.md uses these figures. Run: node bench/cache-footprint.ts
import { createHash } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { toCompanionSnapshot } from "../src/kube/companion-snapshot.ts";
import { configKey, toStapleConfig } from "../src/kube/staple-config.ts";
import { toTlsSecret } from "../src/kube/tls-secret.ts";
import type { Certificate } from "../src/ocsp/certificate.ts";
import { readCertificates } from "../src/ocsp/pem.ts";
import { VerificationCache } from "../src/ocsp/verification-cache.ts";
import { verifyResponse } from "../src/ocsp/verify.ts";
import { planReconcile } from "../src/staple/plan.ts";
import { makeOfflineResponse } from "../test/support/offline-response.ts";
import { createRootCa, goodEntry } from "../test/support/pki.ts";

const N = 10_000;
setFlagsFromString("--expose_gc");
const collect = runInNewContext("gc") as () => void;
const usage = () => {
  for (let pass = 0; pass < 4; pass++) collect();
  const { heapUsed, external } = process.memoryUsage();
  return { heapUsed, external };
};

const ca = await createRootCa({ name: "footprint", key: "p256" });
const leaf = await ca.issue({ commonName: "site.example", ocspUrl: "http://127.0.0.1:1/" });
const stapleDer = await makeOfflineResponse({ subject: leaf, ca, index: await ca.writeIndex([goodEntry(leaf)]), noCerts: true });
const staple = Buffer.from(stapleDer).toString("base64");
const [leafCertificate] = readCertificates(leaf.certPem, "leaf");
const [issuer] = readCertificates(ca.certPem, "issuer");
if (leafCertificate === undefined || issuer === undefined) throw new Error("the test PKI gave no certificate");
// Computed once, as the chain cache's shared CA certificate has it.
if (issuer.sha256 === "") throw new Error("no digest");
const now = () => new Date().toISOString();
// Through JSON, as a watch event arrives: every string its own copy.
const parsed = (object: unknown): unknown => JSON.parse(JSON.stringify(object));
const tlsSecret = (i: number) => parsed({
  type: "kubernetes.io/tls",
  metadata: { namespace: "default", name: `site-${String(i)}-tls`, uid: crypto.randomUUID(), labels: { staple: "yes" }, creationTimestamp: now(), resourceVersion: String(100_000 + i), managedFields: [{ manager: "kubectl", operation: "Update" }] },
  data: { "tls.crt": Buffer.from(leaf.certPem + ca.certPem).toString("base64"), "tls.key": Buffer.from(leaf.keyPem).toString("base64") },
});
const companion = (i: number) => parsed({
  metadata: {
    namespace: "default", name: `site-${String(i)}-tls-ocsp`, uid: crypto.randomUUID(),
    labels: { "app.kubernetes.io/managed-by": "ocsp-stapler", "ocsp-stapler.io/source": `site-${String(i)}-tls` },
    annotations: { "ocsp-stapler.io/cert-status": "good", "ocsp-stapler.io/this-update": now(), "ocsp-stapler.io/next-update": now(), "ocsp-stapler.io/responder": "http://127.0.0.1:1/", "ocsp-stapler.io/serial": leaf.serialHex, "ocsp-stapler.io/cert-sha256": "a".repeat(64) },
    ownerReferences: [{ apiVersion: "v1", kind: "Secret", name: `site-${String(i)}-tls`, uid: crypto.randomUUID() }],
  },
  data: { "tls.ocsp": staple },
});

/**
 * The i-th distinct certificate, as far as the per-Secret structures can tell: the
 * real leaf (so the real staple answers for it) with its own SHA-256 and its own copy
 * of the serial string, as a parsed leaf has.
 */
const certificate = (i: number): Certificate => Object.create(leafCertificate, {
  sha256: { value: createHash("sha256").update(`leaf ${String(i)}`).digest("hex") },
  serial: { value: Buffer.from(leafCertificate.serial).toString() },
}) as Certificate;
// One StapleConfig for the whole fleet: its uid and policy are shared, as in the controller.
const config = toStapleConfig(parsed({ metadata: { namespace: "default", name: "all", uid: crypto.randomUUID(), generation: 1 }, spec: { secretSelector: {} } }));
if (config === undefined) throw new Error("the StapleConfig did not parse");

/**
 * The reconciler's record of a stapled Secret as the plan builds it after a restart
 * (the staple in place verified, the refresh scheduled from it); with `cache`, the
 * staple is verified through it, as in the controller, which then holds both.
 */
const state = (i: number, cache?: VerificationCache) => {
  const subject = certificate(i);
  const verified = verifyResponse(stapleDer, { subject, issuer, at: new Date(), ...(cache === undefined ? {} : { cache }) });
  const name = `site-${String(i)}-tls`;
  const plan = planReconcile({
    secret: { name, companions: [`${name}-ocsp`], inPlaceKeys: undefined, immutable: false },
    owner: {
      config: { key: configKey(config), uid: config.uid, generation: config.generation, mode: "Companion", keys: ["tls.ocsp"], holder: `${name}-ocsp`, policy: config.policy },
      chain: { kind: "read", leafSha256: subject.sha256, notBefore: subject.notBefore, notAfter: subject.notAfter },
      stored: { certificateSha256: subject.sha256, verified },
    },
    previous: undefined, now: new Date(), random: Math.random,
  }, { step: "start" });
  if (plan.next.kind !== "done" || typeof plan.next.state !== "object") throw new Error(`the plan did not settle on an entry: ${JSON.stringify(plan.next)}`);
  return plan.next.state;
};
const cacheEntries = (cache: VerificationCache) => (i: number) => cache.authenticate(stapleDer, { subject: certificate(i), issuer });
const timer = () => {
  const handle = setTimeout(() => undefined, 3_600_000);
  handle.unref();
  return { at: Date.now(), timer: handle };
};

console.log(`bytes per Secret, ${N.toLocaleString("en-US")} of each (Node ${process.version})`);
for (const [what, prepare] of [
  ["TLS Secret cache entry (toTlsSecret)", () => (i: number) => toTlsSecret(tlsSecret(i))],
  ["companion cache entry (toCompanionSnapshot)", () => (i: number) => toCompanionSnapshot(companion(i))],
  ["reconciler state (SecretState of a stapled Secret)", () => (i: number) => state(i)],
  ["verification cache entry (one per certificate)", () => cacheEntries(new VerificationCache({ maxEntries: N }))],
  ["both, as the controller holds them", () => { const cache = new VerificationCache({ maxEntries: N }); return (i: number) => state(i, cache); }],
  ["refresh timer (a Timeout and the queue's entry)", () => timer],
] as const) {
  const make: (i: number) => unknown = prepare();
  const before = usage();
  const kept = Array.from({ length: N }, (_, i) => make(i));
  const after = usage();
  console.log(`${what.padEnd(52)} heap ${((after.heapUsed - before.heapUsed) / N).toFixed(0).padStart(5)}  outside the heap ${((after.external - before.external) / N).toFixed(0).padStart(4)}`);
  kept.length = 0; // the timers are unref'd: they hold nothing up
}
await ca.cleanup();
