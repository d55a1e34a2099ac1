// The in-cluster responder's least privilege, proven on a real API server with RBAC
// on: the chart is applied with responder.enabled twice (one release watching every
// namespace, one watching only "shop"), and each responder's ServiceAccount (a token
// from the TokenRequest API) makes real requests. It may read Secrets, list and watch
// them where it serves, and nothing else: no Secret writes, no StapleConfigs, Events,
// Leases or ConfigMaps, and with watchNamespaces no Secret outside them; and with
// exactly these rights the responder itself syncs and holds the staples.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { PooledKubeConfig } from "../../src/kube/pooled-kube-config.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { Responder } from "../../src/responder/responder.ts";
import { CHART, helm } from "../support/helm.ts";
import { makeOfflineResponse } from "../support/offline-response.ts";
import { createRootCa, goodEntry } from "../support/pki.ts";
import { KubeEnv } from "../support/kube-env.ts";
import { kubectl } from "../support/kube-tools.ts";

const WATCHED = "shop";
const FORBIDDEN = /forbidden|Forbidden/;

void describe("the responder's identity only reads Secrets", { timeout: 20 * 60_000 }, () => {
  let env: KubeEnv;
  /** kubectl as one release's responder ServiceAccount. */
  const as = (release: string) => (args: string[], input?: string) => kubectl(join(env.plane.dir, `${release}-responder.kubeconfig`), args, input);
  const everywhere = as("all");
  const inShop = as("some");
  /** `kubectl auth can-i` answers "no" with exit status 1. */
  const canI = (asResponder: ReturnType<typeof as>, ...args: string[]) => asResponder(["auth", "can-i", ...args]).then((answer) => answer.trim(), () => "no");

  before(async () => {
    env = await KubeEnv.start(WATCHED);
    for (const namespace of ["ops", "elsewhere"]) await env.kubectl(["create", "namespace", namespace]);
    // Both releases' objects, as `helm install` would create them (the CRD is installed already).
    for (const [release, sets] of [["all", []], ["some", ["--set", `watchNamespaces={${WATCHED}}`]]] as const) {
      const rendered = await helm(["template", release, CHART, "--namespace", "ops", "--set", "responder.enabled=true", "--set", "crds.install=false", ...sets]);
      await env.kubectl(["apply", "-f", "-"], rendered);
      const serviceAccount = `${release}-ocsp-stapler-responder`;
      const token = (await env.kubectl(["create", "token", serviceAccount, "-n", "ops", "--duration=1h"])).trim();
      await writeFile(join(env.plane.dir, `${release}-responder.kubeconfig`), JSON.stringify({
        apiVersion: "v1", kind: "Config", "current-context": "responder",
        clusters: [{ name: "test", cluster: { server: env.plane.server, "certificate-authority-data": Buffer.from(env.plane.caPem).toString("base64") } }],
        users: [{ name: "responder", user: { token } }],
        contexts: [{ name: "responder", context: { cluster: "test", user: "responder" } }],
      }));
    }
    for (const namespace of [WATCHED, "elsewhere"]) {
      await env.kubectl(["create", "secret", "generic", "web-tls-ocsp", "-n", namespace, "--from-literal=tls.ocsp=x"]);
      await env.kubectl(["label", "secret", "web-tls-ocsp", "-n", namespace, "app.kubernetes.io/managed-by=ocsp-stapler"]);
    }
  });
  after(async () => {
    await env.stop();
  });

  /** The responder itself, run with one release's token and the namespaces that release watches. */
  const syncedResponder = async (release: string, namespaces: string[]) => {
    const kubeConfig = new PooledKubeConfig();
    kubeConfig.loadFromFile(join(env.plane.dir, `${release}-responder.kubeconfig`));
    const responder = new Responder({ kubeConfig, namespaces, clock: systemClock, logger: pino({ level: "silent" }) });
    try {
      await responder.start();
      return responder.index.size;
    } finally {
      responder.stop();
      await kubeConfig.destroy();
    }
  };

  void it("with only these rights, the responder itself syncs and holds the staple its namespaces have", async () => {
    const ca = await createRootCa({ name: "responder-rbac", key: "p256" });
    try {
      const leaf = await ca.issue({ commonName: "rbac.example" });
      const staple = Buffer.from(await makeOfflineResponse({ subject: leaf, ca, index: await ca.writeIndex([goodEntry(leaf)]) })).toString("base64");
      await env.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "real-tls-ocsp", namespace: WATCHED, labels: { "app.kubernetes.io/managed-by": "ocsp-stapler" } }, data: { "tls.ocsp": staple } }));
      assert.equal(await syncedResponder("some", [WATCHED]), 1);
      assert.equal(await syncedResponder("all", []), 1);
    } finally {
      await env.kubectl(["delete", "secret", "real-tls-ocsp", "-n", WATCHED]);
      await ca.cleanup();
    }
  });

  void it("watching every namespace: gets, lists and watches Secrets in every namespace", async () => {
    assert.match(await everywhere(["get", "secrets", "--all-namespaces", "-l", "app.kubernetes.io/managed-by=ocsp-stapler", "-o", "name"]), /^secret\/web-tls-ocsp\nsecret\/web-tls-ocsp\n$/);
    assert.equal(await everywhere(["get", "secret", "web-tls-ocsp", "-n", "elsewhere", "-o", "jsonpath={.data.tls\\.ocsp}"]), "eA==");
    // A real watch, as its informer makes one: without a resourceVersion the API server first sends every Secret (ADDED), and closes it after a second.
    assert.match(await everywhere(["get", "--raw", "/api/v1/secrets?watch=1&timeoutSeconds=1"]), /"type":"ADDED".*"name":"web-tls-ocsp"/s);
    assert.deepEqual(await Promise.all(["get", "list", "watch"].map((verb) => canI(everywhere, verb, "secrets", "--all-namespaces"))), ["yes", "yes", "yes"]);
  });

  void it("watching every namespace: writes no Secret, not even a companion", async () => {
    await assert.rejects(everywhere(["create", "secret", "generic", "planted", "-n", WATCHED, "--from-literal=a=b"]), FORBIDDEN);
    await assert.rejects(everywhere(["label", "secret", "web-tls-ocsp", "-n", WATCHED, "stolen=yes"]), FORBIDDEN);
    await assert.rejects(everywhere(["patch", "secret", "web-tls-ocsp", "-n", WATCHED, "--type=merge", "-p", '{"data":{"tls.ocsp":"eQ=="}}']), FORBIDDEN);
    await assert.rejects(everywhere(["replace", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: "web-tls-ocsp", namespace: WATCHED }, data: { "tls.ocsp": "eQ==" } })), FORBIDDEN);
    await assert.rejects(everywhere(["delete", "secret", "web-tls-ocsp", "-n", WATCHED]), FORBIDDEN);
    assert.equal(await env.kubectl(["get", "secret", "web-tls-ocsp", "-n", WATCHED, "-o", "jsonpath={.data.tls\\.ocsp}"]), "eA==", "the companion is untouched");
    assert.deepEqual(await Promise.all(["create", "update", "patch", "delete", "deletecollection"].map((verb) => canI(everywhere, verb, "secrets", "--all-namespaces"))), ["no", "no", "no", "no", "no"]);
  });

  void it("watching every namespace: no StapleConfigs, Events, Leases, ConfigMaps or RBAC", async () => {
    await assert.rejects(everywhere(["get", "stapleconfigs", "--all-namespaces"]), FORBIDDEN);
    await assert.rejects(everywhere(["get", "events", "-n", WATCHED]), FORBIDDEN);
    await assert.rejects(everywhere(["get", "leases", "-n", "ops"]), FORBIDDEN);
    await assert.rejects(everywhere(["get", "configmaps", "-n", WATCHED]), FORBIDDEN);
    await assert.rejects(everywhere(["create", "configmap", "x", "-n", WATCHED]), FORBIDDEN);
    const refused: string[][] = [
      ["get", "stapleconfigs.ocsp-stapler.io", "-n", WATCHED],
      ["list", "stapleconfigs.ocsp-stapler.io", "--all-namespaces"],
      ["watch", "stapleconfigs.ocsp-stapler.io", "--all-namespaces"],
      ["patch", "stapleconfigs.ocsp-stapler.io", "--subresource=status", "-n", WATCHED],
      ["create", "events", "-n", WATCHED],
      ["create", "events.events.k8s.io", "-n", WATCHED],
      ["get", "leases.coordination.k8s.io", "-n", "ops"],
      ["create", "leases.coordination.k8s.io", "-n", "ops"],
      ["update", "leases.coordination.k8s.io", "-n", "ops"],
      ["list", "configmaps", "--all-namespaces"],
      ["create", "configmaps", "-n", WATCHED],
      ["list", "pods", "--all-namespaces"],
      ["create", "rolebindings", "-n", WATCHED],
      ["create", "serviceaccounts", "--subresource=token", "-n", "ops"],
    ];
    assert.deepEqual(await Promise.all(refused.map((args) => canI(everywhere, ...args))), refused.map(() => "no"), refused.map((args) => args.join(" ")).join(" | "));
  });

  void it("watchNamespaces: reads Secrets there, and none outside them", async () => {
    assert.equal(await inShop(["get", "secrets", "-n", WATCHED, "-l", "app.kubernetes.io/managed-by=ocsp-stapler", "-o", "name"]), "secret/web-tls-ocsp\n");
    assert.equal(await inShop(["get", "secret", "web-tls-ocsp", "-n", WATCHED, "-o", "jsonpath={.data.tls\\.ocsp}"]), "eA==");
    assert.match(await inShop(["get", "--raw", `/api/v1/namespaces/${WATCHED}/secrets?watch=1&timeoutSeconds=1`]), /"type":"ADDED".*"name":"web-tls-ocsp"/s);
    await assert.rejects(inShop(["get", "secret", "web-tls-ocsp", "-n", "elsewhere"]), FORBIDDEN);
    await assert.rejects(inShop(["get", "secrets", "-n", "elsewhere"]), FORBIDDEN);
    await assert.rejects(inShop(["get", "secrets", "--all-namespaces"]), FORBIDDEN);
    await assert.rejects(inShop(["get", "--raw", "/api/v1/namespaces/elsewhere/secrets?watch=1&timeoutSeconds=1"]), FORBIDDEN);
    await assert.rejects(inShop(["create", "secret", "generic", "planted", "-n", WATCHED, "--from-literal=a=b"]), FORBIDDEN);
    await assert.rejects(inShop(["delete", "secret", "web-tls-ocsp", "-n", WATCHED]), FORBIDDEN);
    assert.deepEqual(await Promise.all([
      ["get", "secrets", "-n", WATCHED], ["list", "secrets", "-n", WATCHED], ["watch", "secrets", "-n", WATCHED],
      ["get", "secrets", "-n", "elsewhere"], ["list", "secrets", "-n", "elsewhere"], ["watch", "secrets", "-n", "elsewhere"], ["list", "secrets", "--all-namespaces"], ["watch", "secrets", "--all-namespaces"],
      ["get", "secrets", "-n", "ops"], ["update", "secrets", "-n", WATCHED], ["patch", "secrets", "-n", WATCHED], ["list", "stapleconfigs.ocsp-stapler.io", "-n", WATCHED], ["create", "events", "-n", WATCHED],
    ].map((args) => canI(inShop, ...args))), ["yes", "yes", "yes", "no", "no", "no", "no", "no", "no", "no", "no", "no", "no"]);
  });
});
