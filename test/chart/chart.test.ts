// The Helm chart without a cluster: lint, the values schema, the one source of truth
// for the CRD, and what least privilege renders to.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { loadAllYaml } from "@kubernetes/client-node";
import { parser as promql } from "@prometheus-io/lezer-promql";
import { CHART, helm } from "../support/helm.ts";
import { INSTALL_MANIFEST, renderInstallManifest } from "../../scripts/render-manifests.ts";

/** One rendered document: enough to find it and to read its text. */
interface Rendered { readonly kind: string; readonly name: string; readonly namespace?: string; readonly text: string }

/** Where the operator's metrics are defined: every metric an alert uses must be named there. */
const METRICS_SOURCE = readFileSync(new URL("../../src/observe/metrics.ts", import.meta.url), "utf8");

async function render(...sets: string[]): Promise<Rendered[]> {
  return renderWith(sets.flatMap((set) => ["--set", set]));
}

async function renderWith(args: readonly string[]): Promise<Rendered[]> {
  const output = await helm(["template", "rel", CHART, "--namespace", "ops", ...args]);
  return output.split(/^---$/m).filter((text) => /^kind:/m.test(text)).map((text) => {
    const namespace = /^metadata:\n(?: {2}.*\n)*? {2}namespace: (\S+)$/m.exec(text)?.[1];
    return {
      kind: /^kind: (\S+)$/m.exec(text)?.[1] ?? "",
      name: /^metadata:\n(?: {2}.*\n)*? {2}name: (\S+)$/m.exec(text)?.[1] ?? "",
      ...(namespace === undefined ? {} : { namespace }),
      text,
    };
  });
}

function only(manifests: readonly Rendered[], kind: string): Rendered {
  const found = manifests.filter((manifest) => manifest.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0] as Rendered;
}

void describe("the Helm chart", () => {
  void it("lints with default and with non-default values", async () => {
    await helm(["lint", CHART, "--strict"]);
    await helm(["lint", CHART, "--strict", "--set", "replicas=2", "--set", "watchNamespaces={shop,web}", "--set", "metrics.serviceMonitor.enabled=true", "--set", "podDisruptionBudget.enabled=true", "--set", "crds.install=false"]);
  });

  void it("ships the CRD from crds/ unchanged (one source of truth)", () => {
    assert.equal(readFileSync(`${CHART}/files/stapleconfigs.ocsp-stapler.io.yaml`, "utf8"), readFileSync(new URL("../../crds/stapleconfigs.ocsp-stapler.io.yaml", import.meta.url), "utf8"), "run: cp crds/stapleconfigs.ocsp-stapler.io.yaml charts/ocsp-stapler/files/");
  });

  void it("manifests/install.yaml is the chart rendered with default values (run: npm run manifests)", async () => {
    assert.equal(readFileSync(INSTALL_MANIFEST, "utf8"), await renderInstallManifest(), "manifests/install.yaml is stale: run npm run manifests");
  });

  const refused: [string, RegExp][] = [
    ["replicas=-1", /replicas/],
    ["logLevel=loud", /logLevel/],
    ["watchNamespaces={Not_A_Namespace}", /watchNamespaces/],
    ["unknownValue=1", /unknownValue/],
    ["companionWriteGuard.inPlaceKeys={tls.key}", /inPlaceKeys/],
  ];
  for (const [set, message] of refused) {
    void it(`the values schema refuses ${set}`, async () => {
      await assert.rejects(helm(["template", "rel", CHART, "--set", set]), message);
    });
  }

  void it("default: a ClusterRole, no Lease permissions, the CRD kept on uninstall", async () => {
    const manifests = await render();
    assert.deepEqual(manifests.map((m) => m.kind).sort(), ["ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "Deployment", "Service", "ServiceAccount", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]);
    assert.match(only(manifests, "ValidatingAdmissionPolicy").text, /request\.userInfo\.username == "system:serviceaccount:ops:rel-ocsp-stapler"/);
    assert.match(only(manifests, "CustomResourceDefinition").text, /helm\.sh\/resource-policy: keep/);
  });

  void it("refuses clusters older than 1.30 (no ValidatingAdmissionPolicy, no native sidecars there) rather than install without its guard", async () => {
    await assert.rejects(renderWith(["--kube-version", "1.29.4"]), /kubeVersion/);
    assert.ok((await renderWith(["--kube-version", "1.30.0"])).some((m) => m.kind === "ValidatingAdmissionPolicy"));
  });

  void it("the optional PrometheusRule: three alerts, each expression valid PromQL, Prometheus's templates left for Prometheus", async () => {
    const rule = loadAllYaml(only(await render("metrics.prometheusRule.enabled=true"), "PrometheusRule").text)[0] as { spec: { groups: { rules: { alert: string; expr: string; annotations: Record<string, string> }[] }[] } };
    const rules = rule.spec.groups.flatMap((group) => group.rules);
    assert.deepEqual(rules.map((entry) => entry.alert), ["OcspStapleExpiresSoon", "OcspCertificateRevoked", "OcspResponderFailing"]);
    for (const entry of rules) {
      let errors = 0;
      promql.parse(entry.expr).iterate({ enter: (node) => { if (node.type.isError) errors++; } });
      assert.equal(errors, 0, `${entry.alert}: ${entry.expr}`);
      const metrics = [...entry.expr.matchAll(/ocsp_stapler_\w+/g)].map((match) => match[0]);
      assert.ok(metrics.length > 0, "it alerts on the operator's own metrics");
      for (const metric of metrics) assert.ok(METRICS_SOURCE.includes(`"${metric}"`), `${entry.alert}: the operator exports ${metric}`);
    }
    assert.match(rules[0]?.annotations.summary ?? "", /\{\{ \$labels\.namespace \}\}\/\{\{ \$labels\.secret \}\}/);
  });

  void it("watchNamespaces: Roles in those namespaces only, nothing cluster-wide", async () => {
    const manifests = await render("watchNamespaces={shop,web}");
    assert.ok(!manifests.some((m) => m.kind.startsWith("Cluster")), "no ClusterRole or ClusterRoleBinding");
    assert.deepEqual(manifests.filter((m) => m.kind === "Role").map((m) => m.namespace).sort(), ["shop", "web"]);
    const deployment = only(manifests, "Deployment").text;
    assert.match(deployment, /--namespace=shop/);
    assert.match(deployment, /--namespace=web/);
  });

  void it("replicas > 1 forces leader election, with Lease rights in the release namespace only", async () => {
    const manifests = await render("replicas=2");
    const deployment = only(manifests, "Deployment").text;
    assert.match(deployment, /- --leader-elect\n/);
    assert.match(deployment, /--leader-elect-namespace=ops/);
    const lease = manifests.find((m) => m.kind === "Role" && m.name.endsWith("leader-election"));
    assert.ok(lease);
    assert.equal(lease.namespace, "ops");
    assert.match(lease.text, /resources: \["leases"\]\n {2}verbs: \["get", "create", "update"\]/);
  });

  void it("the pod runs restricted: non-root, read-only root, no privilege escalation, no capabilities, RuntimeDefault seccomp", async () => {
    const deployment = only(await render(), "Deployment").text;
    for (const line of ["runAsNonRoot: true", "seccompProfile: { type: RuntimeDefault }", "allowPrivilegeEscalation: false", "readOnlyRootFilesystem: true", 'capabilities: { drop: ["ALL"] }', "path: /healthz", "path: /readyz"]) {
      assert.ok(deployment.includes(line), `missing: ${line}`);
    }
  });

  void it("the controller's memory settings: the measured heap caps and glibc's arenas, the arenas left to glibc when empty", async () => {
    const deployment = only(await render(), "Deployment").text;
    assert.match(deployment, /- \{ name: NODE_OPTIONS, value: "--max-old-space-size=128 --max-semi-space-size=4" \}/);
    assert.match(deployment, /- \{ name: MALLOC_ARENA_MAX, value: "2" \}/);
    assert.doesNotMatch(only(await render("mallocArenaMax="), "Deployment").text, /MALLOC_ARENA_MAX/);
    await assert.rejects(helm(["template", "rel", CHART, "--set-string", "mallocArenaMax=many"]), /mallocArenaMax/);
  });

  void it("ServiceMonitor and PodDisruptionBudget only when asked", async () => {
    const kinds = (await render("metrics.serviceMonitor.enabled=true", "podDisruptionBudget.enabled=true")).map((m) => m.kind);
    assert.ok(kinds.includes("ServiceMonitor") && kinds.includes("PodDisruptionBudget"));
  });
});
