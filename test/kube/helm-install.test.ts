// The chart on a real API server with the real Helm and kubectl: rendered output
// accepted by a server-side dry run, then install, upgrade and uninstall (no kubelet
// runs here, so the assertions are on the objects created).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { KubeEnv } from "../support/kube-env.ts";
import { CHART, helm } from "../support/helm.ts";

void describe("the Helm chart on a real API server", { timeout: 50 * 60_000 }, () => {
  let env: KubeEnv;
  const h = (args: string[]) => helm([...args, "--kubeconfig", env.plane.kubeconfigPath]);
  const exists = async (args: string[]) => env.kubectl(["get", ...args, "-o", "name"]).then(() => true, () => false);

  before(async () => {
    env = await KubeEnv.start("default", { installCrd: false });
    for (const namespace of ["ops", "shop", "web"]) await env.kubectl(["create", "namespace", namespace]);
  });
  after(async () => { await env.stop(); });

  const dryRuns: [string, string[]][] = [
    ["default values", []],
    ["watchNamespaces, two replicas, a PodDisruptionBudget, no CRD", ["--set", "watchNamespaces={shop,web}", "--set", "replicas=2", "--set", "podDisruptionBudget.enabled=true", "--set", "crds.install=false", "--set", "logLevel=debug"]],
  ];
  for (const [name, sets] of dryRuns) {
    void it(`the API server accepts the rendered chart (${name}) in a server-side dry run`, async () => {
      const rendered = await helm(["template", "rel", CHART, "--namespace", "ops", ...sets]);
      // A server-side dry run validates every object (RBAC, the Deployment, the CRD) and stores none.
      const applied = await env.kubectl(["apply", "--dry-run=server", "-f", "-"], rendered);
      assert.match(applied, /deployment\.apps\/rel-ocsp-stapler created \(server dry run\)/);
    });
  }

  void it("helm install creates the operator's objects and the CRD", async () => {
    await h(["install", "rel", CHART, "--namespace", "ops"]);
    for (const object of [["deployment/rel-ocsp-stapler", "-n", "ops"], ["serviceaccount/rel-ocsp-stapler", "-n", "ops"], ["service/rel-ocsp-stapler-metrics", "-n", "ops"], ["clusterrole/rel-ocsp-stapler"], ["clusterrolebinding/rel-ocsp-stapler"], ["crd/stapleconfigs.ocsp-stapler.io"]]) {
      assert.ok(await exists(object), `${object.join(" ")} exists`);
    }
    assert.ok(!(await exists(["role/rel-ocsp-stapler-leader-election", "-n", "ops"])), "no Lease rights with one replica");
  });

  void it("helm upgrade to two replicas turns leader election on", async () => {
    await h(["upgrade", "rel", CHART, "--namespace", "ops", "--set", "replicas=2"]);
    const deployment = JSON.parse(await env.kubectl(["get", "deployment/rel-ocsp-stapler", "-n", "ops", "-o", "json"])) as { spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } } };
    assert.equal(deployment.spec.replicas, 2);
    assert.ok(deployment.spec.template.spec.containers[0]?.args.includes("--leader-elect"));
    assert.ok(await exists(["role/rel-ocsp-stapler-leader-election", "-n", "ops"]));
  });

  void it("helm uninstall removes the operator but keeps the CRD and so every StapleConfig", async () => {
    await env.applyConfig("kept", {});
    await h(["uninstall", "rel", "--namespace", "ops"]);
    assert.ok(!(await exists(["deployment/rel-ocsp-stapler", "-n", "ops"])));
    assert.ok(!(await exists(["clusterrole/rel-ocsp-stapler"])));
    assert.ok(await exists(["crd/stapleconfigs.ocsp-stapler.io"]));
    assert.ok(await exists(["stapleconfig/kept", "-n", "default"]));
  });
});
