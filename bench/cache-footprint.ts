// What each per-Secret structure of the controller costs in memory, measured one at a
// time: 10,000 of it built from realistic objects (a P-256 leaf and its CA, a real
// staple), the heap after a full collection before and after, divided by 10,000.
// docs/scale.md uses these figures. Run: node bench/cache-footprint.ts
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { toCompanionSnapshot } from "../src/kube/companion-snapshot.ts";
import { toTlsSecret } from "../src/kube/tls-secret.ts";
import type { SecretState } from "../src/staple/secret-state.ts";
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
const staple = Buffer.from(await makeOfflineResponse({ subject: leaf, ca, index: await ca.writeIndex([goodEntry(leaf)]), noCerts: true })).toString("base64");
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
// The reconciler's record of a stapled Secret, as it builds one (src/controller/reconciler.ts).
const state = (i: number): SecretState => ({
  config: "default/all", name: `site-${String(i)}-tls`, serial: `${leaf.serialHex}${String(i)}`, certStatus: "Good",
  thisUpdate: new Date(), nextUpdate: new Date(), nextCheckAt: new Date(), staple: `site-${String(i)}-tls-ocsp`, failures: 0,
  basis: `${"a".repeat(64)} ${crypto.randomUUID()} 1`,
});
const timer = () => {
  const handle = setTimeout(() => undefined, 3_600_000);
  handle.unref();
  return { at: Date.now(), timer: handle };
};

console.log(`bytes per Secret, ${N.toLocaleString("en-US")} of each (Node ${process.version})`);
for (const [what, make] of [
  ["TLS Secret cache entry (toTlsSecret)", (i: number) => toTlsSecret(tlsSecret(i))],
  ["companion cache entry (toCompanionSnapshot)", (i: number) => toCompanionSnapshot(companion(i))],
  ["reconciler state (SecretState of a stapled Secret)", state],
  ["refresh timer (a Timeout and the queue's entry)", timer],
] as const) {
  const before = usage();
  const kept = Array.from({ length: N }, (_, i) => make(i));
  const after = usage();
  console.log(`${what.padEnd(52)} heap ${((after.heapUsed - before.heapUsed) / N).toFixed(0).padStart(5)}  outside the heap ${((after.external - before.external) / N).toFixed(0).padStart(4)}`);
  kept.length = 0; // the timers are unref'd: they hold nothing up
}
await ca.cleanup();
