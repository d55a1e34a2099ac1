// Fault suite, etcd compacted while the operator's watches are away (issue 10): the
// controller runs as its own process behind a proxy (test/support/api-proxy.ts) to a
// kube-apiserver that compacts etcd every second and has no watch cache, so a watch
// from an old resourceVersion really answers 410 Gone from etcd. With every Secret
// stapled, the proxy cuts every connection and refuses new watches (503: the
// controller backs off and retries); meanwhile a TLS Secret is created, one renewed
// (a new certificate in tls.crt) and one deleted, and etcd compacts past the
// controller's resourceVersion (shown by a watch from that version answering 410).
// Then watches go through again: each Secret cache lists once more (not a relist
// storm), no companion of an unchanged Secret is rewritten, and the three changes
// made meanwhile are all seen. Last, only the TLS Secret watch is cut while a Secret
// is deleted: the garbage collector's deletion of its companion reaches the
// controller first, and it must not write the companion again for a Secret that
// is gone.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { V1Secret } from "@kubernetes/client-node";
import { Agent, request } from "undici";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { ApiProxy, type SeenRequest } from "../support/api-proxy.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import type { Issued } from "../support/pki.ts";
import { waitFor } from "../support/wait-for.ts";

const NS = "compaction";
const LABELS = { staple: "yes" };
const STEADY = 20;
const SECRETS_PATH = `/api/v1/namespaces/${NS}/secrets`;
/** A Secret reflector's LIST or watch (a collection request; a single Secret's path goes on after the collection's). */
const isSecretCollection = (seen: SeenRequest) => seen.method === "GET" && new URL(seen.url, "http://proxy").pathname === SECRETS_PATH;
const isWatch = (seen: SeenRequest) => new URL(seen.url, "http://proxy").searchParams.get("watch") === "true";
const steadyName = (i: number) => `steady-${String(i).padStart(2, "0")}-tls`;

void describe("fault: etcd compacted while the operator's watches are cut (410 Gone on resume)", { timeout: 10 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let proxy: ApiProxy;
  let controller: ControllerProcess | undefined;
  let leaves: Map<string, Issued>;
  let dispatcher: Agent;
  /** The Secrets whose staple was written after the cut (log lines), and the companion writes counted then. */
  let writtenAfterCut: string[] = [];
  let writesAfterCut = 0;

  const companions = (): Promise<V1Secret[]> => env.companions();
  const sha256 = (leaf: Issued) => readCertificates(leaf.certPem, "leaf")[0]?.sha256;
  const leaf = (name: string) => leaves.get(name) as Issued;

  /** True when a watch of the Secrets from `resourceVersion`, straight to kube-apiserver, answers 410 Gone (etcd compacted past it). */
  const compactedPast = async (resourceVersion: string): Promise<boolean> => {
    const url = `${env.plane.server}${SECRETS_PATH}?watch=true&resourceVersion=${resourceVersion}&timeoutSeconds=1`;
    const response = await request(url, { dispatcher, headers: { authorization: `Bearer ${env.plane.token}` } });
    const body = await response.body.text();
    return response.statusCode === 410 || /"type":"ERROR".*"code":410/.test(body);
  };

  before(async () => {
    // Without the watch cache, watches read etcd itself, which compacts every second here.
    env = await KubeEnv.start(NS, { garbageCollector: true, apiServerFlags: ["--etcd-compaction-interval", "1s", "--watch-cache=false"] });
    rig = await OcspRig.start("compaction");
    dispatcher = new Agent({ connect: { ca: env.plane.caPem } });
    const names = [...Array.from({ length: STEADY }, (_, i) => steadyName(i)), "renewed-tls", "renewed-tls-next", "deleted-tls", "created-tls", "vanished-tls"];
    const issued = await rig.goodLeaves(names);
    leaves = new Map(names.map((name, i) => [name, issued[i] as Issued]));
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    for (const name of [...Array.from({ length: STEADY }, (_, i) => steadyName(i)), "renewed-tls", "deleted-tls"]) await env.createTls(name, leaf(name), rig.ca, LABELS);
    proxy = await ApiProxy.start(env.plane);
  });
  after(async () => {
    controller?.kill();
    await proxy.stop();
    await dispatcher.close();
    await rig.stop();
    await env.stop();
  });

  void it("one relist per Secret cache, no rewrites, and the Secrets created, renewed and deleted meanwhile are all seen", async () => {
    const process = await ControllerProcess.start(await proxy.writeKubeconfig(env.plane.dir), ["--namespace", NS]);
    controller = process;
    const before = await waitFor(async () => {
      const found = await companions();
      return found.length === STEADY + 2 ? found : undefined;
    }, "every Secret stapled", 60_000);
    const record = new Map(before.map((companion) => [companion.metadata?.name ?? "", companion.metadata?.resourceVersion]));
    const writesBefore = await process.metric("ocsp_stapler_api_writes_total", { kind: "companion" });
    const writtenAtCut = process.logs(/staple written/).length;

    // The cut: every connection ends, and every new watch is refused as an overloaded API server would.
    proxy.verdict = (seen) => (isWatch(seen)
      ? { kind: "answer", status: 503, body: { kind: "Status", apiVersion: "v1", status: "Failure", message: "watches refused by the test", reason: "ServiceUnavailable", code: 503 } }
      : { kind: "forward" });
    const cutAt = proxy.seen.length;
    proxy.cutAll();
    // Taken after the cut: the controller's caches cannot be newer than this.
    const oldVersion = (await env.core.listNamespacedSecret({ namespace: NS, limit: 1 })).metadata?.resourceVersion ?? "";
    await waitFor(() => {
      const refused = proxy.seen.slice(cutAt).filter((seen) => isSecretCollection(seen) && isWatch(seen)).map((seen) => new URL(seen.url, "http://proxy").searchParams);
      return refused.some((query) => query.has("fieldSelector")) && refused.some((query) => query.has("labelSelector")) ? true : undefined;
    }, "both Secret caches to try to watch again and be refused", 30_000);

    await env.createTls("created-tls", leaf("created-tls"), rig.ca, LABELS);
    await env.core.replaceNamespacedSecret({ name: "renewed-tls", namespace: NS, body: env.tlsBody("renewed-tls", leaf("renewed-tls-next"), rig.ca, LABELS) });
    await env.core.deleteNamespacedSecret({ name: "deleted-tls", namespace: NS });
    await waitFor(async () => ((await compactedPast(oldVersion)) ? true : undefined), `etcd to compact past resourceVersion ${oldVersion}`, 60_000);

    const resumedAt = proxy.seen.length;
    proxy.verdict = () => ({ kind: "forward" });
    for (const reflector of [`tls-secrets/${NS}`, `companions/${NS}`]) {
      await waitFor(async () => ((await process.metric("ocsp_stapler_watch_ends_total", { reflector, end: "gone" })) >= 1 ? true : undefined), `a 410 Gone for ${reflector}`, 60_000);
    }

    await eventually("the new Secret's staple", async () => (await env.readSecret("created-tls-ocsp"))?.data?.["tls.ocsp"], 30);
    const renewedSha = sha256(leaf("renewed-tls-next"));
    await eventually("the renewed certificate's staple", async () => ((await env.readSecret("renewed-tls-ocsp"))?.metadata?.annotations?.["ocsp-stapler.io/cert-sha256"] === renewedSha ? true : undefined), 30);
    await eventually("the deleted Secret's companion to go", async () => ((await env.readSecret("deleted-tls-ocsp")) === undefined ? true : undefined), 60);
    // The controller's own view: the deleted Secret left its cache (the relist dropped it), the new one joined it.
    const status = await eventually("the status to count the live Secrets", async () => {
      const current = await env.statusOf("web");
      return current?.selected === STEADY + 2 && current.stapled === STEADY + 2 ? current : undefined;
    }, 30);
    assert.equal(status.failing, 0);
    // Every key the relists queued has been handed to a reconcile.
    await waitFor(async () => ((await process.metric("ocsp_stapler_queue_depth")) === 0 ? true : undefined), "an empty work queue", 30_000);

    const after = new Map((await companions()).map((companion) => [companion.metadata?.name ?? "", companion.metadata?.resourceVersion]));
    const changed = Array.from({ length: STEADY }, (_, i) => `${steadyName(i)}-ocsp`).filter((name) => after.get(name) !== record.get(name));
    assert.deepEqual(changed, [], "no companion of an unchanged Secret rewritten or removed");
    writtenAfterCut = process.logs(/staple written/).slice(writtenAtCut).map((line) => String(line.name));
    writesAfterCut = await process.metric("ocsp_stapler_api_writes_total", { kind: "companion" }) - writesBefore;
    for (const name of ["created-tls", "renewed-tls"]) assert.ok(writtenAfterCut.includes(name), `${name} stapled after the cut: ${writtenAfterCut.join(", ")}`);

    const lists = proxy.seen.slice(resumedAt).filter((seen) => isSecretCollection(seen) && !isWatch(seen));
    console.log(`# after the cut: ${String(proxy.seen.slice(cutAt, resumedAt).filter(isWatch).length)} watches refused; after it: ${String(lists.length)} Secret LISTs (${lists.map((seen) => new URL(seen.url, "http://proxy").search).join(", ")})`);
    assert.equal(proxy.seen.slice(cutAt, resumedAt).filter((seen) => isSecretCollection(seen) && !isWatch(seen)).length, 0, "no LIST while watches were refused (a failed watch is retried, not relisted)");
    assert.ok(lists.length >= 2 && lists.length <= 4, `${String(lists.length)} Secret LISTs after the 410s: one per Secret cache expected`);
    assert.equal((await process.get("/healthz")).status, 200);
  });

  // Before the reconciler read the Secret from the API server when its companion vanished, this failed
  // in 2 of 4 runs: when the companion cache relisted before the TLS Secret cache, the deleted Secret's
  // companion (already collected) looked lost while the stale Secret cache still held the Secret, and
  // the controller wrote a companion for a Secret that no longer existed.
  void it("writes exactly two companions after the cut: none for the Secret deleted meanwhile", () => {
    assert.ok(!writtenAfterCut.includes("deleted-tls"), `staples written after the cut: ${writtenAfterCut.join(", ")}`);
    assert.equal(writesAfterCut, 2);
  });

  void it("a Secret deleted while only the companion watch is up gets no new companion: the controller asks the API server", async () => {
    const process = controller as ControllerProcess;
    await env.createTls("vanished-tls", leaf("vanished-tls"), rig.ca, LABELS);
    await eventually("its staple", async () => (await env.readSecret("vanished-tls-ocsp"))?.data?.["tls.ocsp"], 30);
    await eventually("the status to count it", async () => ((await env.statusOf("web"))?.stapled === STEADY + 3 ? true : undefined), 30);
    // The TLS Secret watch is cut and refused; the companion watch comes back at once.
    const isTlsWatch = (seen: SeenRequest) => isSecretCollection(seen) && isWatch(seen) && new URL(seen.url, "http://proxy").searchParams.has("fieldSelector");
    proxy.verdict = (seen) => (isTlsWatch(seen)
      ? { kind: "answer", status: 503, body: { kind: "Status", apiVersion: "v1", status: "Failure", message: "watches refused by the test", reason: "ServiceUnavailable", code: 503 } }
      : { kind: "forward" });
    const cutAt = proxy.seen.length;
    proxy.cutAll();
    await waitFor(() => {
      const since = proxy.seen.slice(cutAt);
      return since.some(isTlsWatch) && since.some((seen) => isSecretCollection(seen) && isWatch(seen) && !isTlsWatch(seen)) ? true : undefined;
    }, "the TLS Secret watch refused and the companion watch back", 30_000);

    const deletedAt = proxy.seen.length;
    await env.core.deleteNamespacedSecret({ name: "vanished-tls", namespace: NS });
    // The garbage collector deletes the companion; the controller sees that first and looks at the Secret again.
    await waitFor(() => (proxy.seen.slice(deletedAt).some((seen) => /\/secrets\/vanished-tls(-ocsp)?(\?|$)/.test(seen.url)) ? true : undefined), "the controller to look at vanished-tls again", 30_000);
    proxy.verdict = () => ({ kind: "forward" });
    await eventually("the TLS Secret cache to drop it", async () => ((await env.statusOf("web"))?.selected === STEADY + 2 ? true : undefined), 60);
    const written = proxy.seen.slice(deletedAt).filter((seen) => seen.method === "PATCH" && seen.url.includes("/secrets/vanished-tls-ocsp"));
    assert.deepEqual(written, [], `${process.logs(/staple written/).filter((line) => line.name === "vanished-tls").length} staples written for vanished-tls in all`);
    await eventually("no companion left", async () => ((await env.readSecret("vanished-tls-ocsp")) === undefined ? true : undefined), 60);
  });
});
