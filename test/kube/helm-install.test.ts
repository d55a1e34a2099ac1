// Installing the operator on a real API server with the real Helm and kubectl, by
// the README's own commands (taken from it and run verbatim): the chart, its
// upgrades and removal, the plain manifests, and the examples. No kubelet runs
// here, so the assertions are on the objects created.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { KubeEnv } from "../support/kube-env.ts";
import { CHART, helm } from "../support/helm.ts";
import { userShell } from "../support/kube-tools.ts";
import { createRootCa, type TestCa } from "../support/pki.ts";
import { readmeCommands } from "../support/readme.ts";
import { crdFiles, crdNames } from "../support/third-party-crds.ts";

/** Splits a README section into exactly `count` commands, so an added or dropped command is noticed here. */
function section(heading: string, count: number): string[] {
  const commands = readmeCommands(heading);
  assert.equal(commands.length, count, `README "${heading}": ${commands.join(" | ")}`);
  return commands;
}

void describe("installing with the README's commands on a real API server", { timeout: 50 * 60_000 }, () => {
  let env: KubeEnv;
  let ca: TestCa;
  const run = (command: string) => userShell(env.plane.kubeconfigPath, command);
  const exists = async (args: string[]) => env.kubectl(["get", ...args, "-o", "name"]).then(() => true, () => false);
  const [helmInstall, helmWatchSome, helmTwoReplicas, helmUninstall] = section("Install it with Helm", 4) as [string, string, string, string];
  const [helmResponder] = section("In-cluster responder", 1) as [string];
  const [manifestApply, manifestDelete] = section("Or with plain manifests", 2) as [string, string];
  const [applyConfig, labelSecret, getConfig, applyNginx] = section("Staple a Secret", 4) as [string, string, string, string];

  before(async () => {
    // The namespace controller (in kube-controller-manager) finishes `kubectl delete` of the namespace.
    env = await KubeEnv.start("default", { installCrd: false, garbageCollector: true });
    for (const namespace of ["ops", "shop", "web"]) await env.kubectl(["create", "namespace", namespace]);
    // The Prometheus Operator's CRDs, for the optional ServiceMonitor and PrometheusRule.
    for (const crd of await crdFiles("monitoring")) await env.kubectl(["apply", "--server-side", "-f", crd]);
    await env.kubectl(["wait", "--for=condition=Established", "--timeout=60s", ...crdNames("monitoring").map((name) => `crd/${name}`)]);
    ca = await createRootCa({ name: "install", key: "p256" });
    await env.createTls("web-tls", await ca.issue({ commonName: "web.example", ocspUrl: "http://127.0.0.1:9/" }), ca, {}, "shop");
  });
  after(async () => {
    await env.stop();
    await ca.cleanup();
  });

  const dryRuns: [string, string[]][] = [
    ["default values", []],
    ["watchNamespaces, two replicas, a PodDisruptionBudget, no CRD", ["--set", "watchNamespaces={shop,web}", "--set", "replicas=2", "--set", "podDisruptionBudget.enabled=true", "--set", "crds.install=false", "--set", "logLevel=debug"]],
    ["a ServiceMonitor and a PrometheusRule", ["--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.prometheusRule.enabled=true"]],
    ["the in-cluster responder, watching some namespaces, with its ServiceMonitor", ["--set", "responder.enabled=true", "--set", "watchNamespaces={shop,web}", "--set", "metrics.serviceMonitor.enabled=true"]],
  ];
  for (const [name, sets] of dryRuns) {
    void it(`the API server accepts the rendered chart (${name}) in a server-side dry run`, async () => {
      const rendered = await helm(["template", "rel", CHART, "--namespace", "ops", ...sets]);
      // A server-side dry run validates every object (RBAC, the Deployment, the CRD) and stores none.
      const applied = await env.kubectl(["apply", "--dry-run=server", "-f", "-"], rendered);
      assert.match(applied, /deployment\.apps\/rel-ocsp-stapler created \(server dry run\)/);
      if (sets.includes("responder.enabled=true")) {
        for (const object of ["deployment.apps", "serviceaccount", "service", "poddisruptionbudget.policy", "servicemonitor.monitoring.coreos.com"]) {
          assert.match(applied, new RegExp(`${object.replaceAll(".", "\\.")}/rel-ocsp-stapler-responder created \\(server dry run\\)`), object);
        }
        assert.equal(applied.match(/role\.rbac\.authorization\.k8s\.io\/rel-ocsp-stapler-responder created/g)?.length, 2, "a Role in shop and in web");
      }
      if (sets.includes("metrics.prometheusRule.enabled=true")) {
        assert.match(applied, /servicemonitor\.monitoring\.coreos\.com\/rel-ocsp-stapler created \(server dry run\)/);
        assert.match(applied, /prometheusrule\.monitoring\.coreos\.com\/rel-ocsp-stapler created \(server dry run\)/);
      }
    });
  }

  void it(`${helmInstall}: the operator, its RBAC, the admission policy and the CRD`, async () => {
    await run(helmInstall);
    for (const object of [["deployment/ocsp-stapler", "-n", "ocsp-stapler"], ["serviceaccount/ocsp-stapler", "-n", "ocsp-stapler"], ["service/ocsp-stapler-metrics", "-n", "ocsp-stapler"], ["clusterrole/ocsp-stapler"], ["clusterrolebinding/ocsp-stapler"], ["validatingadmissionpolicy/ocsp-stapler-companions-only"], ["crd/stapleconfigs.ocsp-stapler.io"]]) {
      assert.ok(await exists(object), `${object.join(" ")} exists`);
    }
    assert.ok(!(await exists(["role/ocsp-stapler-leader-election", "-n", "ocsp-stapler"])), "no Lease rights with one replica");
  });

  void it("the examples: a StapleConfig, a labelled Secret, an nginx Deployment", async () => {
    await run(applyConfig);
    await run(labelSecret);
    assert.match(await run(getConfig), /^NAME\s+READY\s+SELECTED\s+STAPLED\s+FAILING\s+NEXT-REFRESH\s+AGE\nweb\s/);
    await run(applyNginx);
    assert.ok(await exists(["deployment/web-nginx", "-n", "shop"]));
    assert.equal(await env.kubectl(["get", "secret", "web-tls", "-n", "shop", "-o", "jsonpath={.metadata.labels.ocsp-stapler\\.io/staple}"]), "true");
  });

  void it(`${helmWatchSome}: Roles in those namespaces, nothing cluster-wide`, async () => {
    await run(helmWatchSome);
    assert.ok(!(await exists(["clusterrole/ocsp-stapler"])));
    assert.ok(await exists(["role/ocsp-stapler", "-n", "shop"]) && await exists(["role/ocsp-stapler", "-n", "web"]));
  });

  void it(`${helmTwoReplicas}: leader election on, the namespaces kept`, async () => {
    await run(helmTwoReplicas);
    const deployment = JSON.parse(await env.kubectl(["get", "deployment/ocsp-stapler", "-n", "ocsp-stapler", "-o", "json"])) as { spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } } };
    assert.equal(deployment.spec.replicas, 2);
    const args = deployment.spec.template.spec.containers[0]?.args ?? [];
    assert.ok(args.includes("--leader-elect") && args.includes("--namespace=shop"), args.join(" "));
    assert.ok(await exists(["role/ocsp-stapler-leader-election", "-n", "ocsp-stapler"]));
  });

  void it(`${helmResponder}: the responder, its read-only RBAC in the namespaces kept, its Service and PodDisruptionBudget`, async () => {
    await run(helmResponder);
    for (const object of [["deployment/ocsp-stapler-responder", "-n", "ocsp-stapler"], ["serviceaccount/ocsp-stapler-responder", "-n", "ocsp-stapler"], ["service/ocsp-stapler-responder", "-n", "ocsp-stapler"], ["poddisruptionbudget/ocsp-stapler-responder", "-n", "ocsp-stapler"], ["role/ocsp-stapler-responder", "-n", "shop"], ["rolebinding/ocsp-stapler-responder", "-n", "web"]]) {
      assert.ok(await exists(object), `${object.join(" ")} exists`);
    }
    assert.ok(!(await exists(["clusterrole/ocsp-stapler-responder"])), "watchNamespaces kept: nothing cluster-wide");
    const deployment = JSON.parse(await env.kubectl(["get", "deployment/ocsp-stapler-responder", "-n", "ocsp-stapler", "-o", "json"])) as { spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } } };
    assert.equal(deployment.spec.replicas, 2);
    assert.deepEqual(deployment.spec.template.spec.containers[0]?.args, ["responder", "--listen=:8080", "--metrics-addr=:9090", "--namespace=shop", "--namespace=web"]);
    // The URL the README gives is the Service's name and port.
    assert.equal(await env.kubectl(["get", "service/ocsp-stapler-responder", "-n", "ocsp-stapler", "-o", "jsonpath={.spec.ports[0].port}"]), "80");
  });

  void it(`${helmUninstall}: the operator goes, the CRD and every StapleConfig stay`, async () => {
    await run(helmUninstall);
    assert.ok(!(await exists(["deployment/ocsp-stapler", "-n", "ocsp-stapler"])));
    assert.ok(!(await exists(["role/ocsp-stapler", "-n", "shop"])));
    assert.ok(!(await exists(["deployment/ocsp-stapler-responder", "-n", "ocsp-stapler"])));
    assert.ok(!(await exists(["role/ocsp-stapler-responder", "-n", "shop"])));
    assert.ok(await exists(["crd/stapleconfigs.ocsp-stapler.io"]));
    assert.ok(await exists(["stapleconfig/web", "-n", "shop"]));
  });

  void it(`${manifestApply}, then ${manifestDelete}`, async () => {
    await run(manifestApply);
    for (const object of [["namespace/ocsp-stapler"], ["deployment/ocsp-stapler", "-n", "ocsp-stapler"], ["clusterrolebinding/ocsp-stapler"], ["validatingadmissionpolicybinding/ocsp-stapler-companions-only"]]) {
      assert.ok(await exists(object), `${object.join(" ")} exists`);
    }
    await run(manifestDelete);
    assert.ok(!(await exists(["clusterrole/ocsp-stapler"])));
    assert.ok(!(await exists(["crd/stapleconfigs.ocsp-stapler.io"])));
  });
});
