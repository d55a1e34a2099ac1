// The Helm chart without a cluster: lint, the values schema, the one source of truth
// for the CRD, and what least privilege renders to.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { loadAllYaml } from "@kubernetes/client-node";
import { parser as promql } from "@prometheus-io/lezer-promql";
import { Metrics } from "../../src/observe/metrics.ts";
import { ResponderMetrics } from "../../src/responder/responder-metrics.ts";
import { CHART, helm } from "../support/helm.ts";
import { INSTALL_MANIFEST, renderInstallManifest } from "../../scripts/render-manifests.ts";

/** One rendered document: enough to find it and to read its text. */
interface Rendered { readonly kind: string; readonly name: string; readonly namespace?: string; readonly text: string }

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
    await helm(["lint", CHART, "--strict", "--set", "responder.enabled=true"]);
    await helm(["lint", CHART, "--strict", "--set", "responder.enabled=true", "--set", "watchNamespaces={shop,web}", "--set", "metrics.serviceMonitor.enabled=true", "--set", "responder.replicas=1", "--set", "responder.service.port=8080"]);
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
    ["responder.replicas=-1", /replicas/],
    ["responder.replicas=0", /replicas/],
    ["responder.unknownValue=1", /unknownValue/],
    ["responder.service.port=70000", /port/],
    ["responder.service.unknownValue=1", /unknownValue/],
    ["responder.podDisruptionBudget.enabled=maybe", /enabled/],
    ["responder.serviceAccount.unknownValue=1", /unknownValue/],
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

  void it("the optional PrometheusRule: nine alerts (ten with the responder), each expression valid PromQL on metrics the registries export, Prometheus's templates left for Prometheus", async () => {
    type Rule = { spec: { groups: { rules: { alert: string; expr: string; annotations: Record<string, string> }[] }[] } };
    const alertsOf = async (...sets: string[]) => (loadAllYaml(only(await render("metrics.prometheusRule.enabled=true", ...sets), "PrometheusRule").text)[0] as Rule).spec.groups.flatMap((group) => group.rules);
    const always = ["OcspStapleExpiresSoon", "OcspCertificateRevoked", "OcspResponderFailing", "OcspMustStapleUnstapled", "OcspNoResponderURL", "OcspEndpointUnreachable", "OcspEndpointNoStaple", "OcspEndpointStapleOld", "OcspEndpointCertificateMismatch"];
    // From the registries, not their source: a gauge with no series yet (no endpoint probed) is still listed.
    const exported = await exportedMetricNames();
    assert.deepEqual((await alertsOf()).map((entry) => entry.alert), always);
    const rules = await alertsOf("responder.enabled=true");
    assert.deepEqual(rules.map((entry) => entry.alert), [...always, "OcspResponderHasNoStaple"]);
    for (const entry of rules) {
      let errors = 0;
      promql.parse(entry.expr).iterate({ enter: (node) => { if (node.type.isError) errors++; } });
      assert.equal(errors, 0, `${entry.alert}: ${entry.expr}`);
      const metrics = [...entry.expr.matchAll(/ocsp_stapler_\w+/g)].map((match) => match[0]);
      assert.ok(metrics.length > 0, "it alerts on the operator's own metrics");
      for (const metric of metrics) assert.ok(exported.has(metric), `${entry.alert}: the operator exports ${metric}`);
    }
    assert.match(rules[0]?.annotations.summary ?? "", /\{\{ \$labels\.namespace \}\}\/\{\{ \$labels\.secret \}\}/);
    for (const entry of rules.filter((rule) => rule.alert.startsWith("OcspEndpoint"))) assert.match(entry.annotations.summary ?? "", /\{\{ \$labels\.endpoint \}\}/, `${entry.alert} names the endpoint`);
  });

  void it("watchNamespaces: Roles in those namespaces only, nothing cluster-wide", async () => {
    const manifests = await render("watchNamespaces={shop,web}");
    assert.ok(!manifests.some((m) => m.kind.startsWith("Cluster")), "no ClusterRole or ClusterRoleBinding");
    assert.deepEqual(manifests.filter((m) => m.kind === "Role").map((m) => m.namespace).sort(), ["shop", "web"]);
    const deployment = only(manifests, "Deployment").text;
    assert.match(deployment, /--namespace=shop/);
    assert.match(deployment, /--namespace=web/);
  });

  void it("probe.discover: read rights on Ingresses, Gateways and Services only when on, in the ClusterRole or each watched namespace's Role", async () => {
    type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
    const DISCOVERY_RULES: Rule[] = [
      { apiGroups: ["networking.k8s.io"], resources: ["ingresses"], verbs: ["get", "list", "watch"] },
      { apiGroups: ["gateway.networking.k8s.io"], resources: ["gateways"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["services"], verbs: ["get", "list", "watch"] },
    ];
    const rulesOf = (manifest: Rendered) => (parsed(manifest) as { rules: Rule[] }).rules;
    const discoveryRules = (rules: readonly Rule[]) => rules.filter((rule) => DISCOVERY_RULES.some((wanted) => wanted.resources.some((resource) => rule.resources.includes(resource))));
    assert.deepEqual(discoveryRules(rulesOf(only(await render(), "ClusterRole"))), [], "off by default");
    const clusterRole = rulesOf(only(await render("probe.discover=true"), "ClusterRole"));
    assert.deepEqual(discoveryRules(clusterRole), DISCOVERY_RULES);
    assert.equal(clusterRole.length, rulesOf(only(await render(), "ClusterRole")).length + DISCOVERY_RULES.length, "the other rules unchanged");
    const roles = (await render("probe.discover=true", "watchNamespaces={shop,web}")).filter((m) => m.kind === "Role");
    assert.deepEqual(roles.map((role) => [role.namespace, discoveryRules(rulesOf(role))]), [["shop", DISCOVERY_RULES], ["web", DISCOVERY_RULES]]);
    await assert.rejects(helm(["template", "rel", CHART, "--set", "probe.discover=maybe"]), /discover/);
    assert.doesNotMatch(only(await render(), "Deployment").text, /--discover-endpoints/, "the controller reads them only when allowed to");
    assert.match(only(await render("probe.discover=true"), "Deployment").text, /- --discover-endpoints\n/);
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

/** The parts of a rendered Deployment these tests read. */
interface DeploymentObject {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext: unknown;
        affinity?: { podAntiAffinity?: { preferredDuringSchedulingIgnoredDuringExecution?: { weight: number; podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } } }[]; requiredDuringSchedulingIgnoredDuringExecution?: unknown } };
        containers: { name: string; image: string; args: string[]; env: { name: string; value: string }[]; ports: { name: string; containerPort: number }[]; livenessProbe: unknown; readinessProbe: unknown; securityContext: unknown; resources: unknown }[];
      };
    };
  };
}

/** One rendered document, parsed (client-node's typed objects, as plain data: a field it does not know is dropped). */
function parsed(manifest: Rendered): unknown {
  return JSON.parse(JSON.stringify(loadAllYaml(manifest.text)[0]));
}

function named(manifests: readonly Rendered[], kind: string, name: string): Rendered {
  const found = manifests.filter((manifest) => manifest.kind === kind && manifest.name === name);
  assert.equal(found.length, 1, `one ${kind} ${name}`);
  return found[0] as Rendered;
}

/** Whether a selector's labels are all on a pod (so the selector would select it). */
function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  return Object.entries(selector).every(([key, value]) => labels[key] === value);
}

const RESPONDER = "rel-ocsp-stapler-responder";
const READ_SECRETS = [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] }];

void describe("the chart's in-cluster responder (responder.enabled)", () => {
  void it("is off by default: no responder object is rendered", async () => {
    const manifests = await render();
    assert.deepEqual(manifests.filter((m) => m.name.includes("responder")).map((m) => `${m.kind}/${m.name}`), []);
    assert.deepEqual((await render("metrics.serviceMonitor.enabled=true", "watchNamespaces={shop}")).filter((m) => m.name.includes("responder")).map((m) => `${m.kind}/${m.name}`), []);
  });

  void it("on: a Deployment, a ServiceAccount, a ClusterRole and its binding, a Service and a PodDisruptionBudget, all <fullname>-responder", async () => {
    const manifests = await render("responder.enabled=true");
    assert.deepEqual(manifests.filter((m) => m.name === RESPONDER).map((m) => m.kind).sort(), ["ClusterRole", "ClusterRoleBinding", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"]);
    assert.deepEqual(manifests.filter((m) => m.name.includes("responder") && m.name !== RESPONDER), []);
    for (const kind of ["Deployment", "ServiceAccount", "Service", "PodDisruptionBudget"]) assert.equal(named(manifests, kind, RESPONDER).namespace, "ops", kind);
  });

  void it("the Deployment: two replicas, its command line, probes on its metrics port, and the controller's image and hardened securityContext", async () => {
    const manifests = await render("responder.enabled=true");
    const responder = (parsed(named(manifests, "Deployment", RESPONDER)) as DeploymentObject).spec;
    const controller = (parsed(named(manifests, "Deployment", "rel-ocsp-stapler")) as DeploymentObject).spec;
    assert.equal(responder.replicas, 2);
    const [container] = responder.template.spec.containers;
    const [controllerContainer] = controller.template.spec.containers;
    assert.ok(container && controllerContainer);
    assert.equal(responder.template.spec.containers.length, 1);
    assert.equal(container.name, "responder");
    assert.deepEqual(container.args, ["responder", "--listen=:8080", "--metrics-addr=:9090"]);
    assert.deepEqual(container.ports, [{ name: "ocsp", containerPort: 8080, protocol: "TCP" }, { name: "metrics", containerPort: 9090, protocol: "TCP" }]);
    assert.deepEqual(container.livenessProbe, { httpGet: { path: "/healthz", port: "metrics" }, periodSeconds: 20 });
    assert.deepEqual(container.readinessProbe, { httpGet: { path: "/readyz", port: "metrics" }, periodSeconds: 5 });
    assert.equal(container.image, controllerContainer.image);
    assert.deepEqual(responder.template.spec.securityContext, controller.template.spec.securityContext);
    assert.deepEqual(container.securityContext, controllerContainer.securityContext);
    assert.deepEqual(responder.template.spec.securityContext, { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: "RuntimeDefault" } });
    assert.deepEqual(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    assert.deepEqual(container.resources, { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "192Mi" } });
    assert.deepEqual(container.env, [{ name: "LOG_LEVEL", value: "info" }, { name: "NODE_OPTIONS", value: "--max-old-space-size=96 --max-semi-space-size=2" }, { name: "MALLOC_ARENA_MAX", value: "2" }]);
    assert.equal(responder.template.spec.serviceAccountName, RESPONDER);
    // Two replicas on two nodes where the scheduler can, and never refused a node for it.
    const antiAffinity = responder.template.spec.affinity?.podAntiAffinity;
    assert.equal(antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution, undefined);
    assert.deepEqual(antiAffinity?.preferredDuringSchedulingIgnoredDuringExecution, [{ weight: 100, podAffinityTerm: { topologyKey: "kubernetes.io/hostname", labelSelector: { matchLabels: responder.selector.matchLabels } } }]);
  });

  void it("its pods and the controller's never select each other (Deployments, Services, PodDisruptionBudgets, ServiceMonitors)", async () => {
    const manifests = await render("responder.enabled=true", "podDisruptionBudget.enabled=true", "metrics.serviceMonitor.enabled=true");
    const responderPods = (parsed(named(manifests, "Deployment", RESPONDER)) as DeploymentObject).spec.template.metadata.labels;
    const controllerPods = (parsed(named(manifests, "Deployment", "rel-ocsp-stapler")) as DeploymentObject).spec.template.metadata.labels;
    const selectors = (name: string) => [
      (parsed(named(manifests, "Deployment", name)) as DeploymentObject).spec.selector.matchLabels,
      (parsed(named(manifests, "PodDisruptionBudget", name)) as { spec: { selector: { matchLabels: Record<string, string> } } }).spec.selector.matchLabels,
    ];
    for (const selector of selectors(RESPONDER)) assert.ok(selects(selector, responderPods) && !selects(selector, controllerPods), JSON.stringify(selector));
    for (const selector of selectors("rel-ocsp-stapler")) assert.ok(selects(selector, controllerPods) && !selects(selector, responderPods), JSON.stringify(selector));
    const service = (name: string) => (parsed(named(manifests, "Service", name)) as { metadata: { labels: Record<string, string> }; spec: { selector: Record<string, string> } });
    assert.ok(!selects(service("rel-ocsp-stapler-metrics").spec.selector, responderPods));
    assert.ok(!selects(service(RESPONDER).spec.selector, controllerPods));
    // A ServiceMonitor selects Services by their labels: each its own.
    const monitor = (name: string) => (parsed(named(manifests, "ServiceMonitor", name)) as { spec: { selector: { matchLabels: Record<string, string> } } }).spec.selector.matchLabels;
    assert.ok(selects(monitor(RESPONDER), service(RESPONDER).metadata.labels) && !selects(monitor(RESPONDER), service("rel-ocsp-stapler-metrics").metadata.labels));
    assert.ok(!selects(monitor("rel-ocsp-stapler"), service(RESPONDER).metadata.labels));
  });

  void it("its RBAC: get, list and watch on Secrets and nothing else, for its own ServiceAccount; no Lease rights even with two replicas", async () => {
    const manifests = await render("responder.enabled=true");
    assert.deepEqual((parsed(named(manifests, "ClusterRole", RESPONDER)) as { rules: unknown }).rules, READ_SECRETS);
    const binding = parsed(named(manifests, "ClusterRoleBinding", RESPONDER)) as { roleRef: unknown; subjects: unknown };
    assert.deepEqual(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: RESPONDER });
    assert.deepEqual(binding.subjects, [{ kind: "ServiceAccount", name: RESPONDER, namespace: "ops" }]);
    assert.ok(!manifests.some((m) => m.kind === "Role"), "no Role at all: the controller has one replica, the responder needs none");
    // The operator's admission policy names the operator's ServiceAccount, not the responder's.
    assert.match(only(manifests, "ValidatingAdmissionPolicy").text, /"system:serviceaccount:ops:rel-ocsp-stapler"/);
  });

  void it("watchNamespaces: a Role and RoleBinding in each of them, nothing cluster-wide, a --namespace for each", async () => {
    const manifests = await render("responder.enabled=true", "watchNamespaces={shop,web}");
    assert.ok(!manifests.some((m) => m.kind.startsWith("Cluster")), "no ClusterRole or ClusterRoleBinding");
    const roles = manifests.filter((m) => m.kind === "Role" && m.name === RESPONDER);
    assert.deepEqual(roles.map((m) => m.namespace).sort(), ["shop", "web"]);
    for (const role of roles) assert.deepEqual((parsed(role) as { rules: unknown }).rules, READ_SECRETS);
    const bindings = manifests.filter((m) => m.kind === "RoleBinding" && m.name === RESPONDER);
    assert.deepEqual(bindings.map((m) => m.namespace).sort(), ["shop", "web"]);
    for (const binding of bindings) assert.deepEqual((parsed(binding) as { subjects: unknown }).subjects, [{ kind: "ServiceAccount", name: RESPONDER, namespace: "ops" }]);
    const [container] = (parsed(named(manifests, "Deployment", RESPONDER)) as DeploymentObject).spec.template.spec.containers;
    assert.deepEqual(container?.args, ["responder", "--listen=:8080", "--metrics-addr=:9090", "--namespace=shop", "--namespace=web"]);
  });

  void it("the Service: port 80 named http to the pods' ocsp port, and the metrics port; responder.service.port changes the first", async () => {
    type Service = { spec: { selector: Record<string, string>; ports: unknown[] } };
    const service = parsed(named(await render("responder.enabled=true"), "Service", RESPONDER)) as Service;
    assert.deepEqual(service.spec.ports, [{ name: "http", port: 80, targetPort: "ocsp", protocol: "TCP" }, { name: "metrics", port: 9090, targetPort: "metrics", protocol: "TCP" }]);
    const moved = parsed(named(await render("responder.enabled=true", "responder.service.port=8080"), "Service", RESPONDER)) as Service;
    assert.deepEqual(moved.spec.ports[0], { name: "http", port: 8080, targetPort: "ocsp", protocol: "TCP" });
  });

  void it("the PodDisruptionBudget: minAvailable 1 with two replicas; none with one replica or when turned off", async () => {
    const budget = parsed(named(await render("responder.enabled=true"), "PodDisruptionBudget", RESPONDER)) as { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } };
    assert.equal(budget.spec.minAvailable, 1);
    assert.deepEqual(budget.spec.selector.matchLabels, { "app.kubernetes.io/name": "ocsp-stapler-responder", "app.kubernetes.io/instance": "rel", "app.kubernetes.io/component": "responder" });
    assert.ok(!(await render("responder.enabled=true", "responder.replicas=1")).some((m) => m.kind === "PodDisruptionBudget"));
    assert.ok(!(await render("responder.enabled=true", "responder.podDisruptionBudget.enabled=false")).some((m) => m.kind === "PodDisruptionBudget"));
  });

  void it("with metrics.serviceMonitor.enabled, a ServiceMonitor for the responder's metrics port too", async () => {
    const manifests = await render("responder.enabled=true", "metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom");
    const monitor = parsed(named(manifests, "ServiceMonitor", RESPONDER)) as { metadata: { labels: Record<string, string> }; spec: { endpoints: unknown } };
    assert.deepEqual(monitor.spec.endpoints, [{ port: "metrics", path: "/metrics", interval: "60s" }]);
    assert.equal(monitor.metadata.labels.release, "prom");
  });

  void it("scheduling: the release's nodeSelector, tolerations and priorityClassName unless the responder's own are set; its own affinity replaces the anti-affinity", async () => {
    const spec = async (...args: string[]) => (parsed(named(await renderWith(["--set", "responder.enabled=true", ...args]), "Deployment", RESPONDER)) as { spec: { template: { spec: Record<string, unknown> } } }).spec.template.spec;
    const zone = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }] } } };
    const inherited = await spec("--set", "nodeSelector.pool=ops", "--set", "tolerations[0].key=dedicated", "--set", "priorityClassName=low", "--set-json", `affinity=${JSON.stringify(zone)}`);
    assert.deepEqual([inherited.nodeSelector, inherited.tolerations, inherited.priorityClassName], [{ pool: "ops" }, [{ key: "dedicated" }], "low"]);
    assert.ok(JSON.stringify(inherited.affinity).includes("podAntiAffinity") && !JSON.stringify(inherited.affinity).includes("zone"), "the operator's affinity is the operator's");
    const own = await spec("--set", "nodeSelector.pool=ops", "--set", "responder.nodeSelector.pool=edge", "--set", "tolerations[0].key=dedicated", "--set", "responder.tolerations[0].key=edge", "--set", "priorityClassName=low", "--set", "responder.priorityClassName=high", "--set-json", `responder.affinity=${JSON.stringify(zone)}`);
    assert.deepEqual([own.nodeSelector, own.tolerations, own.priorityClassName, own.affinity], [{ pool: "edge" }, [{ key: "edge" }], "high", zone]);
  });

  void it("NOTES.txt prints the URL for servers' configs, with Apache's and nginx's lines; the port only when not 80", async () => {
    const notes = async (...sets: string[]) => helm(["install", "rel", CHART, "--namespace", "ops", "--dry-run=client", ...sets.flatMap((set) => ["--set", set])]).then((output) => output.slice(output.indexOf("NOTES:")));
    const url = "http://rel-ocsp-stapler-responder.ops.svc.cluster.local/";
    const on = await notes("responder.enabled=true");
    assert.ok(on.includes(`\n  ${url}\n`), on);
    assert.ok(on.includes(`SSLStaplingForceURL ${url}\n`), on);
    assert.ok(on.includes(`ssl_stapling_responder ${url};`), on);
    const moved = await notes("responder.enabled=true", "responder.service.port=8080");
    assert.ok(moved.includes("ssl_stapling_responder http://rel-ocsp-stapler-responder.ops.svc.cluster.local:8080/;"), moved);
    assert.doesNotMatch(await notes(), /responder/);
  });
});

/** Every metric the operator and the responder export, as Prometheus names them (a histogram's _bucket, _sum and _count). */
async function exportedMetricNames(): Promise<Set<string>> {
  const registries = [new Metrics({ queueDepth: () => 0, staples: () => [] }).registry, new ResponderMetrics(() => 0).registry];
  const names = new Set<string>();
  for (const registry of registries) {
    for (const metric of await registry.getMetricsAsJSON()) {
      const type = String(metric.type);
      for (const suffix of type === "histogram" ? ["_bucket", "_sum", "_count"] : type === "summary" ? ["", "_sum", "_count"] : [""]) names.add(metric.name + suffix);
    }
  }
  return names;
}

/** A Grafana query as Prometheus receives it: Grafana's own variables replaced by what it would put there. */
function asPromQL(query: string): string {
  return query.replace(/\$__(rate_interval|interval|range)\b/g, "5m").replace(/\$\{?\w+\}?/g, "x");
}

function promqlErrors(expr: string): number {
  let errors = 0;
  promql.parse(expr).iterate({ enter: (node) => { if (node.type.isError) errors++; } });
  return errors;
}

interface DashboardPanel { type: string; title: string; datasource?: { uid?: string }; targets?: { expr: string; datasource?: { uid?: string } }[]; panels?: DashboardPanel[] }
interface Dashboard { uid: string; panels: DashboardPanel[]; templating: { list: { name: string; type: string; query: string | { query: string }; datasource?: { uid?: string } }[] } }

void describe("the chart's Grafana dashboard (grafana.dashboard.enabled)", () => {
  const file = readFileSync(`${CHART}/files/grafana-dashboard.json`, "utf8");

  void it("is valid JSON; every panel's and variable's query is valid PromQL on metrics the operator or the responder exports, through the datasource variable", async () => {
    const dashboard = JSON.parse(file) as Dashboard;
    const exported = await exportedMetricNames();
    assert.ok(exported.has("ocsp_stapler_fetch_duration_seconds_bucket") && exported.has("ocsp_stapler_responder_requests_total"), "the registries list their metrics");
    const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]).filter((panel) => panel.type !== "row");
    assert.ok(panels.length >= 8, "panels");
    const queries: [string, string][] = [];
    for (const panel of panels) {
      assert.equal(panel.datasource?.uid, "${datasource}", `${panel.title}: the datasource variable`);
      assert.ok((panel.targets ?? []).length > 0, `${panel.title}: queries`);
      for (const target of panel.targets ?? []) {
        assert.equal(target.datasource?.uid, "${datasource}", panel.title);
        queries.push([panel.title, target.expr]);
      }
    }
    const variables = dashboard.templating.list;
    assert.deepEqual(variables.map((variable) => [variable.name, variable.type]), [["datasource", "datasource"], ["namespace", "query"]]);
    for (const variable of variables.filter((entry) => entry.type === "query")) {
      assert.equal(variable.datasource?.uid, "${datasource}");
      const query = typeof variable.query === "string" ? variable.query : variable.query.query;
      // Grafana's label_values(selector, label): the selector is PromQL.
      const selector = /^label_values\((.+),\s*\w+\)$/.exec(query)?.[1];
      assert.ok(selector !== undefined, query);
      queries.push([`variable ${variable.name}`, selector]);
    }
    const seen = new Set<string>();
    for (const [where, query] of queries) {
      const expr = asPromQL(query);
      assert.equal(promqlErrors(expr), 0, `${where}: ${expr}`);
      const metrics = [...expr.matchAll(/\bocsp_stapler_\w+/g)].map((match) => match[0]);
      assert.ok(metrics.length > 0, `${where}: reads the operator's metrics`);
      for (const metric of metrics) {
        assert.ok(exported.has(metric), `${where}: ${metric} is exported`);
        seen.add(metric);
      }
    }
    // What the issue asks to show: time left, fetches and their latency, certificate status, the responder.
    for (const metric of ["ocsp_stapler_staple_next_update_timestamp_seconds", "ocsp_stapler_fetch_total", "ocsp_stapler_fetch_duration_seconds_bucket", "ocsp_stapler_cert_status", "ocsp_stapler_responder_requests_total", "ocsp_stapler_responder_request_duration_seconds_bucket"]) assert.ok(seen.has(metric), metric);
    // Served vs stored: what the endpoints' probes found.
    for (const metric of ["ocsp_stapler_endpoint_up", "ocsp_stapler_endpoint_staple_served", "ocsp_stapler_endpoint_certificate_matches", "ocsp_stapler_endpoint_staple_age_seconds", "ocsp_stapler_endpoint_staple_behind_seconds", "ocsp_stapler_endpoint_probes_total"]) assert.ok(seen.has(metric), metric);
    assert.ok(promqlErrors("sum(rate(ocsp_stapler_fetch_total[") > 0, "the parser does report errors");
  });

  void it("off by default; on: one ConfigMap with the sidecar's label and the file's JSON, in the release's namespace or the one asked", async () => {
    assert.ok(!(await render()).some((m) => m.kind === "ConfigMap"));
    const map = only(await render("grafana.dashboard.enabled=true"), "ConfigMap");
    const object = parsed(map) as { metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> }; data: Record<string, string> };
    assert.equal(object.metadata.name, "rel-ocsp-stapler-grafana-dashboard");
    assert.equal(object.metadata.namespace, "ops");
    assert.equal(object.metadata.labels.grafana_dashboard, "1");
    assert.equal(object.metadata.annotations, undefined);
    assert.deepEqual(Object.keys(object.data), ["ocsp-stapler.json"]);
    assert.equal(object.data["ocsp-stapler.json"], file);
    const moved = parsed(only(await render("grafana.dashboard.enabled=true", "grafana.dashboard.namespace=monitoring", "grafana.dashboard.labels.dashboards=ops", "grafana.dashboard.annotations.grafana_folder=TLS"), "ConfigMap")) as typeof object;
    assert.equal(moved.metadata.namespace, "monitoring");
    assert.deepEqual([moved.metadata.labels.grafana_dashboard, moved.metadata.labels.dashboards, moved.metadata.annotations?.grafana_folder], ["1", "ops", "TLS"]);
    await helm(["lint", CHART, "--strict", "--set", "grafana.dashboard.enabled=true"]);
    for (const [set, message] of [["grafana.dashboard.enabled=maybe", /enabled/], ["grafana.dashboard.unknownValue=1", /unknownValue/], ["grafana.dashboard.namespace=Not_A_Namespace", /namespace/], ["grafana.unknownValue=1", /unknownValue/]] as const) {
      await assert.rejects(helm(["template", "rel", CHART, "--set", set]), message, set);
    }
  });

  void it("the operator's ServiceMonitor honours the metrics' own namespace label (the Secret's), which the dashboard and the alerts read", async () => {
    const monitor = parsed(named(await render("metrics.serviceMonitor.enabled=true"), "ServiceMonitor", "rel-ocsp-stapler")) as { spec: { endpoints: unknown } };
    assert.deepEqual(monitor.spec.endpoints, [{ port: "metrics", path: "/metrics", interval: "60s", honorLabels: true }]);
  });
});
