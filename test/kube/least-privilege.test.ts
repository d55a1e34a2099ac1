// Least privilege, proven on a real API server with RBAC on: the chart's RBAC objects
// and admission policy are applied, the operator runs with the chart's ServiceAccount
// (a token from the TokenRequest API) and staples a Secret end to end; the same
// identity is refused everything it must not do.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { PooledKubeConfig } from "../../src/kube/pooled-kube-config.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { CHART, helm } from "../support/helm.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { kubectl } from "../support/kube-tools.ts";
import { OcspRig } from "../support/ocsp-rig.ts";

const WATCHED = "shop";
const LABELS = { staple: "yes" };
const IN_PLACE_LABELS = { "in-place": "yes" };
const ONLY_OURS = /may create, change or delete only the companion Secrets it manages, and change a TLS Secret only in its staple keys/;

void describe("the operator's identity has least privilege", { timeout: 50 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller | undefined;
  let operatorKubeconfig: string;
  const asOperator = (args: string[], input?: string) => kubectl(operatorKubeconfig, args, input);
  const refused = async (args: string[], why: RegExp = /forbidden|Forbidden/) => { await assert.rejects(asOperator(args), why); };

  before(async () => {
    env = await KubeEnv.start(WATCHED);
    for (const namespace of ["ops", "elsewhere"]) await env.kubectl(["create", "namespace", namespace]);
    // The chart's objects, as `helm install` would create them (the CRD is installed already).
    const rendered = await helm(["template", "rel", CHART, "--namespace", "ops", "--set", `watchNamespaces={${WATCHED}}`, "--set", "replicas=2", "--set", "crds.install=false"]);
    await env.kubectl(["apply", "-f", "-"], rendered);
    const token = (await env.kubectl(["create", "token", "rel-ocsp-stapler", "-n", "ops", "--duration=1h"])).trim();
    operatorKubeconfig = join(env.plane.dir, "operator.kubeconfig");
    await writeFile(operatorKubeconfig, JSON.stringify({
      apiVersion: "v1", kind: "Config", "current-context": "operator",
      clusters: [{ name: "test", cluster: { server: env.plane.server, "certificate-authority-data": Buffer.from(env.plane.caPem).toString("base64") } }],
      users: [{ name: "operator", user: { token } }],
      contexts: [{ name: "operator", context: { cluster: "test", user: "operator" } }],
    }));
    rig = await OcspRig.start("least-privilege");
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    await env.applyConfig("gw", { secretSelector: { matchLabels: IN_PLACE_LABELS }, target: { mode: "InPlace", keys: ["tls.ocsp-staple"] } });
    await env.applyConfig("custom", { secretSelector: { matchLabels: { custom: "yes" } }, target: { mode: "InPlace", keys: ["custom.staple"] } });
    await env.createTls("private-tls", await rig.leaf("private"), rig.ca, LABELS, "elsewhere");
    const kubeConfig = new PooledKubeConfig();
    kubeConfig.loadFromFile(operatorKubeconfig);
    controller = new Controller({
      kubeConfig, namespaces: [WATCHED], transport: rig.transport, clock: systemClock, random: Math.random, logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }),
      leaderElection: { namespace: "ops", name: "ocsp-stapler", identity: "least-privilege-test" },
    });
    await controller.start();
  });
  after(async () => {
    await controller?.stop();
    await rig.stop();
    await env.stop();
  });

  void it("with only the chart's rights, it staples a Secret end to end: companion, status, Events, Lease", async () => {
    await env.createTls("web-tls", await rig.leaf("web"), rig.ca, LABELS);
    await eventually("the companion", () => env.readSecret("web-tls-ocsp"));
    await eventually("the status", async () => ((await env.statusOf("web"))?.stapled === 1 ? true : undefined));
    await eventually("a Stapled Event", async () => ((await env.eventReasons("Secret", "web-tls")).includes("Stapled") ? true : undefined));
    assert.equal(await env.kubectl(["get", "lease", "ocsp-stapler", "-n", "ops", "-o", "jsonpath={.spec.holderIdentity}"]), "least-privilege-test");
  });

  void it("cannot read Secrets outside the namespaces it watches", async () => {
    await refused(["get", "secret", "private-tls", "-n", "elsewhere"]);
    await refused(["get", "secrets", "--all-namespaces"]);
  });

  void it("cannot change or delete a Secret it does not manage, even where it watches", async () => {
    await refused(["label", "secret", "web-tls", "-n", WATCHED, "stolen=yes"], /may create, change or delete only the companion Secrets/);
    await refused(["delete", "secret", "web-tls", "-n", WATCHED], /may create, change or delete only the companion Secrets/);
    await refused(["create", "secret", "generic", "planted", "-n", WATCHED, "--from-literal=a=b"], /may create, change or delete only the companion Secrets/);
    // Labelled as a companion, but a TLS Secret of its own choosing: no.
    await assert.rejects(asOperator(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Secret", type: "kubernetes.io/tls", metadata: { name: "planted-tls", namespace: WATCHED, labels: { "app.kubernetes.io/managed-by": "ocsp-stapler" } }, data: { "tls.crt": "", "tls.key": "" } })), /may create, change or delete only the companion Secrets/);
  });

  void it("InPlace: writes its staple key and annotations into a TLS Secret, and nothing else of it", async () => {
    await env.createTls("gw-tls", await rig.leaf("gw"), rig.ca, IN_PLACE_LABELS);
    await eventually("the staple in the TLS Secret", async () => ((await env.readSecret("gw-tls"))?.data?.["tls.ocsp-staple"] === undefined ? undefined : true));
    await refused(["patch", "secret", "gw-tls", "-n", WATCHED, "--type=merge", "-p", '{"data":{"tls.crt":"eA=="}}'], ONLY_OURS);
    await refused(["patch", "secret", "gw-tls", "-n", WATCHED, "--type=json", "-p", '[{"op":"replace","path":"/data/tls.key","value":"eA=="}]'], ONLY_OURS);
    await refused(["label", "secret", "gw-tls", "-n", WATCHED, "app.kubernetes.io/managed-by=ocsp-stapler"], ONLY_OURS);
    await refused(["annotate", "secret", "gw-tls", "-n", WATCHED, "someone-else/annotation=x"], ONLY_OURS);
    // Keystores beside the certificate (cert-manager's keystore.p12, key.der) are as protected as tls.key.
    await refused(["patch", "secret", "gw-tls", "-n", WATCHED, "--type=merge", "-p", '{"data":{"keystore.p12":"eA=="}}'], ONLY_OURS);
    // An immutable Secret could never be renewed again.
    await refused(["patch", "secret", "gw-tls", "-n", WATCHED, "--type=merge", "-p", '{"immutable":true}'], ONLY_OURS);
    // Its own annotations and staple keys it may change (the policy's other half, shown to work).
    await asOperator(["annotate", "secret", "gw-tls", "-n", WATCHED, "ocsp-stapler.io/probe=x"]);
    await asOperator(["annotate", "secret", "gw-tls", "-n", WATCHED, "ocsp-stapler.io/probe-"]);
    // chain: Full's keys beside a listed key (<key>.1 to <key>.8, <key>.pem) are admitted, and nothing more like them.
    for (const key of ["tls.ocsp-staple.1", "tls.ocsp-staple.8", "tls.ocsp-staple.pem"]) {
      await asOperator(["patch", "secret", "gw-tls", "-n", WATCHED, "--type=merge", "-p", JSON.stringify({ data: { [key]: "eA==" } })]);
      await asOperator(["patch", "secret", "gw-tls", "-n", WATCHED, "--type=json", "-p", JSON.stringify([{ op: "remove", path: `/data/${key}` }])]);
    }
    for (const key of ["tls.ocsp-staple.9", "tls.ocsp-staple.0", "tls.ocsp-staple.p12", "tls.key.1", "tls.crt.pem", "custom.staple.1"]) {
      await refused(["patch", "secret", "gw-tls", "-n", WATCHED, "--type=merge", "-p", JSON.stringify({ data: { [key]: "eA==" } })], ONLY_OURS);
    }
  });

  void it("InPlace with a key the policy does not list: WriteRefused in the status, naming the rule, and the Secret untouched", async () => {
    await env.createTls("custom-tls", await rig.leaf("custom"), rig.ca, { custom: "yes" });
    const entry = await env.entry("custom", "custom-tls", (candidate) => candidate.error !== undefined);
    assert.equal(entry.error?.code, "WriteRefused");
    assert.match(entry.error.message ?? "", /staple keys \(companionWriteGuard\.inPlaceKeys\)/);
    assert.equal((await env.readSecret("custom-tls"))?.data?.["custom.staple"], undefined);
  });

  void it("cannot write anything else: configs' specs, other kinds, Leases outside its namespace, RBAC", async () => {
    await refused(["patch", "stapleconfig", "web", "-n", WATCHED, "--type=merge", "-p", '{"spec":{"chain":"Full"}}']);
    await refused(["create", "configmap", "x", "-n", WATCHED]);
    // kubectl auth can-i answers "no" with exit status 1; the one "yes" shows the token itself works.
    const canI = (...args: string[]) => asOperator(["auth", "can-i", ...args]).then((answer) => answer.trim(), () => "no");
    assert.equal(await canI("patch", "stapleconfigs", "--subresource=status", "-n", WATCHED), "yes");
    assert.deepEqual(await Promise.all([
      canI("update", "stapleconfigs", "-n", WATCHED),
      canI("create", "leases.coordination.k8s.io", "-n", WATCHED),
      canI("update", "leases.coordination.k8s.io", "-n", "elsewhere"),
      canI("create", "clusterroles"),
      canI("create", "rolebindings", "-n", WATCHED),
      canI("get", "secrets", "-n", "elsewhere"),
      canI("list", "secrets", "--all-namespaces"),
    ]), ["no", "no", "no", "no", "no", "no", "no"]);
  });
});
