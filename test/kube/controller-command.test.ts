// `ocsp-stapler controller` as a real process against a real API server, run exactly
// as the container image runs it (compiled dist/, production dependencies only,
// outside the checkout): it becomes ready, serves metrics, staples, and stops
// cleanly on SIGTERM.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { startControlPlane, type ControlPlane } from "../control-plane/control-plane.ts";
import { freePort } from "../support/free-port.ts";
import { localGet } from "../support/local-get.ts";
import { assembleProductionApp, type ProductionApp } from "../support/production-app.ts";
import { kubectl } from "../support/kube-tools.ts";
import { startOpensslResponder, type OpensslResponder } from "../support/openssl-responder.ts";
import { createRootCa, goodEntry, type TestCa } from "../support/pki.ts";
import { runCli } from "../support/run-cli.ts";
import { removeTempDir } from "../support/tmp.ts";
import { waitFor } from "../support/wait-for.ts";

const CRD = fileURLToPath(new URL("../../crds/stapleconfigs.ocsp-stapler.io.yaml", import.meta.url));

void describe("ocsp-stapler controller, the process", { timeout: 50 * 60_000 }, () => {
  let plane: ControlPlane;
  let ca: TestCa;
  let responder: OpensslResponder;
  let child: ChildProcess;
  let metricsPort: number;
  let app: ProductionApp;
  let output = "";
  const k = (args: string[], input?: string) => kubectl(plane.kubeconfigPath, args, input);

  before(async () => {
    app = await assembleProductionApp();
    plane = await startControlPlane();
    await k(["apply", "-f", CRD]);
    await k(["wait", "--for=condition=Established", "crd/stapleconfigs.ocsp-stapler.io"]);
    ca = await createRootCa({ name: "controller-process", key: "p256" });
    const port = await freePort();
    const leaf = await ca.issue({ commonName: "web.example", ocspUrl: `http://127.0.0.1:${port}/` });
    responder = await startOpensslResponder({ ca, indexPath: await ca.writeIndex([goodEntry(leaf)]), port, nextUpdateDays: 7 });
    await k(["create", "secret", "tls", "web-tls", "-n", "default", `--cert=${leaf.certPath}`, `--key=${leaf.keyPath}`]);
    await k(["apply", "-f", "-"], JSON.stringify({ apiVersion: "ocsp-stapler.io/v1alpha1", kind: "StapleConfig", metadata: { name: "all", namespace: "default" }, spec: {} }));
    // The chain in tls.crt lacks the issuer here, so the staple needs it from ca.crt.
    await k(["patch", "secret", "web-tls", "-n", "default", "--type=merge", "-p", JSON.stringify({ data: { "ca.crt": Buffer.from(ca.certPem).toString("base64") } })]);
    metricsPort = await freePort();
    child = spawn(process.execPath, [app.main, "controller", "--kubeconfig", plane.kubeconfigPath, "--namespace", "default", "--metrics-addr", `127.0.0.1:${metricsPort}`, "--leader-elect"], { cwd: app.dir, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr?.on("data", (chunk: Buffer) => { output += chunk.toString(); });
  });
  after(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await responder.stop();
    await plane.stop();
    await ca.cleanup();
    await removeTempDir(app.dir);
  });

  void it("runs from the production build: no TypeScript sources, no dev dependencies", async () => {
    const installed = await readdir(join(app.dir, "node_modules"));
    for (const devOnly of ["typescript", "eslint", "fast-check", "node", "@aws-cdk"]) assert.ok(!installed.includes(devOnly), `${devOnly} is not installed`);
    for (const runtime of ["@kubernetes", "pino", "pkijs", "undici"]) assert.ok(installed.includes(runtime), `${runtime} is installed`);
    assert.deepEqual((await readdir(join(app.dir, "dist", "cli"))).filter((name) => name.endsWith(".ts")), []);
  });

  void it("answers /readyz once its caches have synced", async () => {
    await waitFor(async () => ((await localGet(metricsPort, "/readyz")).status === 200 ? true : undefined), `/readyz to answer 200; output so far:\n${output}`, 20_000);
  });

  void it("staples the Secret and logs JSON lines naming it, with no key material", async () => {
    for (let i = 0; i < 200 && !output.includes("staple written"); i++) await sleep(100);
    const secret = await k(["get", "secret", "web-tls-ocsp", "-n", "default", "-o", "jsonpath={.metadata.annotations.ocsp-stapler\\.io/cert-status}"]);
    assert.equal(secret, "good");
    const written = output.split("\n").filter((line) => line.includes("staple written")).map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual([written[0]?.namespace, written[0]?.name], ["default", "web-tls"]);
    assert.doesNotMatch(output, /PRIVATE KEY|tls\.key/);
  });

  void it("serves Prometheus metrics computed from its caches", async () => {
    const metrics = await localGet(metricsPort, "/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.body, /^ocsp_stapler_fetch_total\{responder="127\.0\.0\.1:\d+",result="good"\} 1$/m);
    assert.match(metrics.body, /^ocsp_stapler_staple_next_update_timestamp_seconds\{namespace="default",secret="web-tls",config="default\/all"\} \d+/m);
    assert.match(metrics.body, /^ocsp_stapler_cert_status\{status="good"\} 1$/m);
    assert.match(metrics.body, /^ocsp_stapler_queue_depth 0$/m);
  });

  void it("with --leader-elect, holds the Lease ocsp-stapler in its namespace", async () => {
    const holder = await k(["get", "lease", "ocsp-stapler", "-n", "default", "-o", "jsonpath={.spec.holderIdentity}"]);
    assert.match(holder, /^.+-[0-9a-f]{8}$/);
  });

  void it("stops on SIGTERM with exit status 0, giving the Lease up", async () => {
    const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    assert.equal(await Promise.race([exited, sleep(10_000, "hung")]), 0);
    assert.equal(await k(["get", "lease", "ocsp-stapler", "-n", "default", "-o", "jsonpath={.spec.holderIdentity}"]), "");
  });

  void it("an unknown flag is refused before it touches the cluster", async () => {
    const result = await runCli(["controller", "--kubeconfig", plane.kubeconfigPath, "--namespaces", "x"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Unknown option '--namespaces'/);
  });
});
