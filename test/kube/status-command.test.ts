// `ocsp-stapler status` as a process, on a real API server where the real
// controller stapled one Secret and fails another (a leaf the responder does
// not know: CertStatusUnknown), in two namespaces.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import type { Controller } from "../../src/controller/controller.ts";
import { listPages, METADATA_ONLY_LIST } from "../../src/kube/paged-list.ts";
import { startController } from "../support/in-process-controller.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { findProgram, SCRIPT, skipUnlessInstalled } from "../support/programs.ts";
import { runCli } from "../support/run-cli.ts";

const NS = "shop";
const OTHER = "edge";
const LABELS = { "ocsp-stapler.io/staple": "true" };

void describe("ocsp-stapler status on a real API server", { timeout: 10 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;
  const kubeconfigPath = () => env.plane.kubeconfigPath;
  const status = (...args: string[]) => runCli(["status", "--kubeconfig", kubeconfigPath(), ...args]);

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("status");
    await env.kubectl(["create", "namespace", OTHER]);
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    await env.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "ocsp-stapler.io/v1alpha1", kind: "StapleConfig", metadata: { name: "cdn", namespace: OTHER }, spec: { secretSelector: {} } }));
    await env.createTls("web-tls", await rig.leaf("web"), rig.ca, LABELS);
    await env.createTls("api-tls", await rig.leaf("api", "unknown"), rig.ca, LABELS);
    await env.createTls("cdn-tls", await rig.leaf("cdn"), rig.ca, {}, OTHER);
    // Two --namespace scopes, whose reflectors share one cache per kind (a LIST of one once dropped the other's objects).
    controller = await startController(env, rig.transport, { namespaces: [NS, OTHER] });
    await env.entry("web", "web-tls", (entry) => entry.certStatus === "Good");
    await env.entry("web", "api-tls", (entry) => entry.error?.code === "CertStatusUnknown");
    await eventually("cdn-tls stapled", async () => (await env.companions(OTHER)).length === 1 ? true : undefined);
    // The cdn config's status is written a moment after its companion.
    await eventually("cdn's status", async () => {
      const object = await env.custom.getNamespacedCustomObject({ group: "ocsp-stapler.io", version: "v1alpha1", namespace: OTHER, plural: "stapleconfigs", name: "cdn" }) as { status?: { stapled?: number } };
      return object.status?.stapled === 1 ? true : undefined;
    });
  });
  after(async () => {
    await controller.stop();
    await rig.stop();
    await env.stop();
  });

  void it("-n: one line per Secret, the failing one first with its code, the good one with its staple's age and time left; no colour into a pipe", async (t) => {
    const result = await status("-n", NS);
    t.diagnostic(`\n${result.stdout}`);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, "");
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3, result.stdout);
    assert.match(lines[0] ?? "", /^SECRET\s+CONFIG\s+STATUS\s+AGE\s+LEFT\s+NEXT-REFRESH\s+SERVED\s+ERROR$/);
    assert.match(lines[1] ?? "", /^api-tls\s+web\s+Failing\s+-\s+-\s+(\d+[smhd]\S*|due \S+ ago)\s+-\s+CertStatusUnknown$/);
    assert.match(lines[2] ?? "", /^web-tls\s+web\s+Good\s+\d+(s|m\d*s?)\s+6d2[23]h\s+\d+[dhms]\S*\s+-\s+-$/);
    assert.ok(!result.stdout.includes("\u001b"), "no escape codes when stdout is not a terminal");
  });

  void it("-o json: the same rows with stable keys, the responder and companion from the companion's annotations", async () => {
    const result = await status("-n", NS, "-o", "json");
    assert.equal(result.status, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as Record<string, unknown>[];
    assert.deepEqual(rows.map((row) => [row.secret, row.config, row.status, row.served]), [["api-tls", "web", "Failing", null], ["web-tls", "web", "Good", null]]);
    const [failing, good] = rows;
    assert.ok(failing && good);
    assert.equal((failing.error as { code?: string } | null)?.code, "CertStatusUnknown");
    assert.equal(failing.staple, null);
    assert.equal(good.error, null);
    assert.equal(good.staple, "web-tls-ocsp");
    assert.equal(good.responder, rig.ocspUrl);
    assert.equal(good.from, "status");
    for (const key of ["thisUpdate", "nextUpdate", "nextRefresh"]) assert.match(String(good[key]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, key);
    assert.match(String(good.serial), /^[0-9a-f]+$/i);
  });

  void it("-A: every namespace, with a NAMESPACE column; -o wide adds message, serial, responder and the staple's Secret", async () => {
    const all = await status("-A");
    assert.equal(all.status, 0, all.stderr);
    const lines = all.stdout.trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^NAMESPACE\s+SECRET\s+CONFIG\s+STATUS\s/);
    const rows = lines.slice(1).map((line) => line.split(/\s+/).slice(0, 4).join(" "));
    assert.equal(rows[0], "shop api-tls web Failing");
    // The two good ones by time left: whichever was stapled first.
    assert.deepEqual(rows.slice(1).sort(), ["edge cdn-tls cdn Good", "shop web-tls web Good"]);
    const wide = await status("-n", OTHER, "-o", "wide");
    assert.equal(wide.status, 0, wide.stderr);
    assert.match(wide.stdout, /\bSTAPLE-SECRET\n/);
    assert.ok(wide.stdout.includes(`${rig.ocspUrl}   cdn-tls-ocsp\n`), wide.stdout);
  });

  void it("lists Secrets as metadata only: the API server sends no data (what status asks for)", async () => {
    const list = (accept?: string) => listPages(env.kubeConfig, `/api/v1/namespaces/${NS}/secrets`, { fieldSelector: "type=kubernetes.io/tls" }, (item) => item, accept);
    const metadataOnly = (await list(METADATA_ONLY_LIST)).items as { kind?: string; data?: unknown }[];
    assert.equal(metadataOnly.length, 2);
    assert.ok(metadataOnly.every((item) => item.kind === "PartialObjectMetadata" && item.data === undefined));
    assert.ok(((await list()).items as { data?: unknown }[]).every((item) => item.data !== undefined), "a plain LIST carries the data (so the check above means something)");
  });

  void it("with only the rights it documents (get/list stapleconfigs, list secrets in one namespace): the context's namespace by default; -A refused with a plain message", async () => {
    await env.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: [
      { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "viewer", namespace: NS } },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: { name: "staple-viewer", namespace: NS }, rules: [
        { apiGroups: ["ocsp-stapler.io"], resources: ["stapleconfigs"], verbs: ["get", "list"] },
        { apiGroups: [""], resources: ["secrets"], verbs: ["list"] },
      ] },
      { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "staple-viewer", namespace: NS }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "staple-viewer" }, subjects: [{ kind: "ServiceAccount", name: "viewer", namespace: NS }] },
    ] }));
    const token = (await env.kubectl(["create", "token", "viewer", "-n", NS, "--duration=1h"])).trim();
    const kubeconfig = join(env.plane.dir, "viewer.kubeconfig");
    await writeFile(kubeconfig, JSON.stringify({
      apiVersion: "v1", kind: "Config", "current-context": "viewer",
      clusters: [{ name: "test", cluster: { server: env.plane.server, "certificate-authority-data": Buffer.from(env.plane.caPem).toString("base64") } }],
      users: [{ name: "viewer", user: { token } }],
      contexts: [{ name: "viewer", context: { cluster: "test", user: "viewer", namespace: NS } }],
    }));
    const own = await runCli(["status", "--kubeconfig", kubeconfig, "-o", "json"]);
    assert.equal(own.status, 0, own.stderr);
    assert.deepEqual((JSON.parse(own.stdout) as { secret: string; responder: unknown }[]).map((row) => [row.secret, row.responder === null]), [["api-tls", true], ["web-tls", false]]);
    const all = await runCli(["status", "--kubeconfig", kubeconfig, "-A"]);
    assert.equal(all.status, 2);
    assert.match(all.stderr, /^ocsp-stapler status: cannot list stapleconfigs in all namespaces: 403 .*forbidden.* \(see README, "Commands": status needs get\/list on stapleconfigs and list on secrets\)\n$/);
  });

  void it("colours on a terminal (a pseudo-terminal from script(1)), and not with NO_COLOR", { skip: skipUnlessInstalled(SCRIPT) }, async () => {
    const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
    const onTerminal = (extra: Record<string, string>) => new Promise<string>((resolve, reject) => {
      const command = [process.execPath, main, "status", "-n", NS, "--kubeconfig", kubeconfigPath()].map((word) => `'${word}'`).join(" ");
      execFile(findProgram(SCRIPT) ?? "script", ["-qec", command, "/dev/null"], { env: { ...process.env, ...extra }, timeout: 30_000 }, (error, stdout, stderr) => { if (error === null) resolve(stdout); else reject(new Error(`${error.message}: ${stderr}`)); });
    });
    const coloured = await onTerminal({});
    assert.ok(coloured.includes("\u001b[31mFailing\u001b[0m") && coloured.includes("\u001b[31mCertStatusUnknown\u001b[0m"), JSON.stringify(coloured));
    const plain = await onTerminal({ NO_COLOR: "1" });
    assert.match(plain, /api-tls\s+web\s+Failing/);
    assert.ok(!plain.includes("\u001b["), JSON.stringify(plain));
  });

  void it("the kubeconfig context's namespace by default (here none: \"default\"), and -n with -A is a usage error", async () => {
    const empty = await status();
    assert.equal(empty.status, 0);
    assert.equal(empty.stdout, "");
    assert.equal(empty.stderr, "No StapleConfigs found in default namespace.\n");
    const usage = await status("-n", NS, "-A");
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /-n and -A exclude each other/);
  });
});
