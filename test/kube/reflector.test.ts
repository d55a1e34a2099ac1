// The reflector against a real API server: it lists, follows the watch, and when its
// resourceVersion has been compacted away (a real 410 Gone from etcd compaction) it
// lists again instead of stopping, the failure mode of client-node's informer.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApiException, Watch } from "@kubernetes/client-node";
import { pino } from "pino";
import { systemClock } from "../../src/ocsp/clock.ts";
import { Reflector, type ListResult, type ReflectorEnd } from "../../src/kube/reflector.ts";
import { secretKey, toTlsSecret, type TlsSecret } from "../../src/kube/tls-secret.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";

const NS = "default";
const secret = (name: string) => ({ metadata: { name, namespace: NS }, type: "kubernetes.io/tls", data: { "tls.crt": Buffer.from(name).toString("base64"), "tls.key": Buffer.from("k").toString("base64") } });

void describe("the reflector on a real API server", { timeout: 50 * 60_000 }, () => {
  let env: KubeEnv;
  const reflectors: Reflector<TlsSecret>[] = [];

  // Without the watch cache, watches read etcd itself, which compacts every second here: an old
  // resourceVersion then really answers 410 Gone (the watch cache would replay it from memory).
  before(async () => { env = await KubeEnv.start(NS, { apiServerFlags: ["--etcd-compaction-interval", "1s", "--watch-cache=false"] }); });
  after(async () => { for (const reflector of reflectors) reflector.stop(); await env.stop(); });

  const listTls = async (): Promise<ListResult> => {
    const list = await env.core.listNamespacedSecret({ namespace: NS, fieldSelector: "type=kubernetes.io/tls" });
    return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? "" };
  };
  const start = async (list: () => Promise<ListResult>, changes: string[], options: { idleMs?: number; ends?: ReflectorEnd[] } = {}) => {
    const watch = new Watch(env.kubeConfig);
    // client-node keeps its idle limit (30 s) private: shortened here so idle ends come within seconds.
    if (options.idleMs !== undefined) Object.assign(watch, { requestTimeoutMs: options.idleMs });
    const reflector = new Reflector<TlsSecret>({
      name: "test", list, watch, clock: systemClock, onEnd: (end) => options.ends?.push(end), watchPath: `/api/v1/namespaces/${NS}/secrets`, watchQuery: { fieldSelector: "type=kubernetes.io/tls" },
      transform: toTlsSecret, keyOf: secretKey, logger: pino({ level: "silent" }), backoff: { initialMs: 50, maxMs: 500 },
      onChange: (key, item) => { changes.push(`${item === undefined ? "-" : "+"}${key}`); },
    });
    reflectors.push(reflector);
    await reflector.start();
    return reflector;
  };

  void it("lists, then follows additions, updates and deletions, and ignores other Secret types", async () => {
    await env.core.createNamespacedSecret({ namespace: NS, body: secret("before") });
    const changes: string[] = [];
    const reflector = await start(listTls, changes);
    assert.deepEqual([...reflector.store.keys()], [`${NS}/before`]);
    await env.core.createNamespacedSecret({ namespace: NS, body: secret("after") });
    await env.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "opaque" }, type: "Opaque", data: {} } });
    await env.core.deleteNamespacedSecret({ name: "before", namespace: NS });
    await eventually("the watch events", () => Promise.resolve(changes.includes(`-${NS}/before`) ? true : undefined));
    assert.deepEqual(changes, [`+${NS}/before`, `+${NS}/after`, `-${NS}/before`]);
    assert.equal(reflector.store.get(`${NS}/after`)?.name, "after");
  });

  void it("relists after 410 Gone: a watch from a compacted resourceVersion", async () => {
    const stale = (await listTls()).resourceVersion;
    for (const name of ["g1", "g2", "g3"]) await env.core.createNamespacedSecret({ namespace: NS, body: secret(name) });
    // The API server compacts etcd every second: once a LIST at exactly `stale` answers 410 Gone, it is gone for the watch too.
    await eventually("etcd to compact `stale` away", async () => {
      try {
        await env.core.listNamespacedSecret({ namespace: NS, resourceVersion: stale, resourceVersionMatch: "Exact", limit: 1 });
        return undefined;
      } catch (error) {
        if (error instanceof ApiException && error.code === 410) return true;
        throw error;
      }
    });
    let lists = 0;
    const changes: string[] = [];
    // The first LIST answers from before the compaction, as if this reflector had been away for long.
    const reflector = await start(async () => (++lists === 1 ? { items: [], resourceVersion: stale } : listTls()), changes);
    await eventually("a relist", () => Promise.resolve(lists >= 2 && reflector.store.has(`${NS}/g3`) ? true : undefined));
    assert.ok(["g1", "g2", "g3"].every((name) => reflector.store.has(`${NS}/${name}`)));
  });

  void it("an idle watch that client-node ends is a normal end: no failure, no backoff, changes still seen at once", async () => {
    const ends: ReflectorEnd[] = [];
    const changes: string[] = [];
    const reflector = await start(listTls, changes, { idleMs: 300, ends });
    await eventually("several idle ends", () => Promise.resolve(ends.filter((end) => end === "idle").length >= 5 ? true : undefined));
    assert.deepEqual(ends.filter((end) => end !== "idle"), [], "nothing counted as a failure");
    assert.equal(reflector.failingSince, undefined);
    await env.core.createNamespacedSecret({ namespace: NS, body: secret("after-idle") });
    await eventually("the Secret created after the idle ends", () => Promise.resolve(reflector.store.has(`${NS}/after-idle`) ? true : undefined));
  });
});
