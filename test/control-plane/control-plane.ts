/**
 * A real Kubernetes control plane for the operator's tests: etcd and
 * kube-apiserver (and, on request, kube-controller-manager for garbage
 * collection) on loopback, with generated certificates and an admin token.
 * Binaries come from build-binaries.sh (KUBEBUILDER_ASSETS or a cached build).
 * Flags follow ../shared/notes/control-plane.md.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Agent, request } from "undici";
import { freePort } from "../support/free-port.ts";
import { runOpenssl } from "../support/pki-openssl.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";

const run = promisify(execFile);
const BUILD_SCRIPT = fileURLToPath(new URL("build-binaries.sh", import.meta.url));

export interface ControlPlane {
  /** https://127.0.0.1:PORT */
  readonly server: string;
  /** An admin (system:masters) bearer token. */
  readonly token: string;
  readonly caPem: string;
  /** A kubeconfig file for the admin identity, for clients and kubectl. */
  readonly kubeconfigPath: string;
  readonly dir: string;
  /** Stops kube-apiserver and starts it again on the same port and etcd: what a control-plane upgrade does. */
  restartApiServer(): Promise<void>;
  /** SIGKILLs kube-apiserver (no graceful shutdown: open watches and in-flight requests just break) and waits for it to exit; etcd keeps running. */
  killApiServer(): Promise<void>;
  /** Starts kube-apiserver again on the same port and etcd, after `killApiServer`; resolves once it is ready. */
  startApiServerAgain(): Promise<void>;
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager's garbage collector (ownerReferences). */
  readonly garbageCollector?: boolean;
  /** Extra kube-apiserver flags, e.g. a short --etcd-compaction-interval so old resourceVersions soon answer 410 Gone. */
  readonly apiServerFlags?: readonly string[];
}

/** Builds (once, cached) or locates the binaries; a cold build takes several minutes. */
export async function controlPlaneBinaries(): Promise<string> {
  const { stdout } = await run("bash", [BUILD_SCRIPT], { maxBuffer: 16 * 1024 * 1024, timeout: 45 * 60_000 });
  return stdout.trim().split("\n").at(-1) ?? "";
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = await controlPlaneBinaries();
  const dir = await makeTempDir("control-plane");
  const processes: ChildProcess[] = [];
  const token = randomBytes(24).toString("hex");
  try {
    await writeCredentials(dir, token);
    const etcd = await startEtcd(binaries, dir);
    processes.push(etcd.process);
    const port = await freePort();
    const server = `https://127.0.0.1:${port}`;
    const extraFlags = options.apiServerFlags ?? [];
    let apiServer = await startApiServer(binaries, dir, port, etcd.url, token, extraFlags);
    const kubeconfigPath = join(dir, "kubeconfig");
    await writeFile(kubeconfigPath, kubeconfig(server, await readFile(join(dir, "ca.pem"), "utf8"), token));
    if (options.garbageCollector === true) processes.push(startControllerManager(binaries, dir, kubeconfigPath));
    return {
      server,
      token,
      caPem: await readFile(join(dir, "ca.pem"), "utf8"),
      kubeconfigPath,
      dir,
      restartApiServer: async () => {
        await stopProcess(apiServer);
        apiServer = await startApiServer(binaries, dir, port, etcd.url, token, extraFlags);
      },
      killApiServer: async () => {
        await killProcess(apiServer);
      },
      startApiServerAgain: async () => {
        if (apiServer.exitCode === null && apiServer.signalCode === null) throw new Error("kube-apiserver is still running");
        apiServer = await startApiServer(binaries, dir, port, etcd.url, token, extraFlags);
      },
      stop: async () => {
        // etcd last: a kube-apiserver whose etcd went away first spends its grace period retrying it.
        const [etcdProcess, ...others] = processes;
        await Promise.all([apiServer, ...others].map(stopProcess));
        if (etcdProcess !== undefined) await stopProcess(etcdProcess);
        await removeTempDir(dir);
      },
    };
  } catch (error) {
    await Promise.all(processes.map(stopProcess));
    await removeTempDir(dir);
    throw error;
  }
}

/** A test CA, a serving certificate for 127.0.0.1, the service-account key pair and the token file. */
async function writeCredentials(dir: string, token: string): Promise<void> {
  const at = (name: string) => join(dir, name);
  await runOpenssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", at("ca.key"), "-out", at("ca.pem"), "-subj", "/CN=test-control-plane-ca", "-days", "2"]);
  await runOpenssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", at("serving.key"), "-out", at("serving.csr"), "-subj", "/CN=kube-apiserver"]);
  await writeFile(at("serving.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  await runOpenssl(["x509", "-req", "-in", at("serving.csr"), "-CA", at("ca.pem"), "-CAkey", at("ca.key"), "-CAcreateserial", "-out", at("serving.pem"), "-days", "2", "-extfile", at("serving.ext")]);
  await runOpenssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", at("sa.key")]);
  await runOpenssl(["pkey", "-in", at("sa.key"), "-pubout", "-out", at("sa.pub")]);
  await writeFile(at("tokens.csv"), `${token},admin,admin,system:masters\n`);
}

async function startEtcd(binaries: string, dir: string): Promise<{ process: ChildProcess; url: string }> {
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  await mkdir(join(dir, "etcd"), { recursive: true });
  const child = launch(join(binaries, "etcd"), [
    "--data-dir", join(dir, "etcd"), "--name", "test",
    "--listen-client-urls", url, "--advertise-client-urls", url,
    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `test=${peer}`,
    "--unsafe-no-fsync", "--log-level", "warn",
  ], join(dir, "etcd.log"));
  await waitFor(`${url}/health`, child, "etcd", dir);
  return { process: child, url };
}

async function startApiServer(binaries: string, dir: string, port: number, etcdUrl: string, token: string, extraFlags: readonly string[]): Promise<ChildProcess> {
  const at = (name: string) => join(dir, name);
  const child = launch(join(binaries, "kube-apiserver"), [
    "--etcd-servers", etcdUrl, "--bind-address", "127.0.0.1", "--secure-port", String(port),
    "--tls-cert-file", at("serving.pem"), "--tls-private-key-file", at("serving.key"), "--client-ca-file", at("ca.pem"),
    "--token-auth-file", at("tokens.csv"), "--authorization-mode", "RBAC",
    "--service-account-issuer", "https://kubernetes.default.svc", "--service-account-key-file", at("sa.pub"),
    "--service-account-signing-key-file", at("sa.key"), "--service-cluster-ip-range", "10.0.0.0/24",
    "--disable-admission-plugins", "ServiceAccount", "--allow-privileged=false", ...extraFlags,
  ], at("kube-apiserver.log"));
  await waitFor(`https://127.0.0.1:${port}/readyz`, child, "kube-apiserver", dir, { token, ca: await readFile(at("ca.pem"), "utf8") });
  return child;
}

function startControllerManager(binaries: string, dir: string, kubeconfigPath: string): ChildProcess {
  return launch(join(binaries, "kube-controller-manager"), [
    "--kubeconfig", kubeconfigPath, "--authentication-kubeconfig", kubeconfigPath, "--authorization-kubeconfig", kubeconfigPath,
    "--controllers", "garbagecollector,namespace", "--leader-elect=false", "--secure-port=0", "--use-service-account-credentials=false",
  ], join(dir, "kube-controller-manager.log"));
}

/** Starts a server process with its output in a log file (read on failure). Killed with the test process. */
function launch(binary: string, args: readonly string[], logPath: string): ChildProcess {
  const log = openSync(logPath, "a");
  const child = spawn(binary, args, { stdio: ["ignore", log, log] });
  closeSync(log);
  // A test that forgets stop() must not hang forever: the exit hook below still kills the server.
  child.unref();
  const kill = () => { child.kill("SIGKILL"); };
  process.once("exit", kill);
  child.once("exit", () => { process.removeListener("exit", kill); });
  return child;
}

/** Polls a health URL until it answers 200; the process dying or 60 s passing is a failure with its log. */
async function waitFor(url: string, child: ChildProcess, name: string, dir: string, auth?: { token: string; ca: string }): Promise<void> {
  const dispatcher = new Agent({ connect: auth === undefined ? {} : { ca: auth.ca } });
  try {
    const started = Date.now();
    while (Date.now() - started < 60_000 && child.exitCode === null) {
      const status = await request(url, { dispatcher, ...(auth === undefined ? {} : { headers: { authorization: `Bearer ${auth.token}` } }) })
        .then(async (response) => { await response.body.dump(); return response.statusCode; })
        .catch(() => 0);
      if (status === 200) return;
      await sleep(100);
    }
  } finally {
    await dispatcher.close();
  }
  const log = await readFile(join(dir, `${name}.log`), "utf8").catch(() => "");
  throw new Error(`${name} did not become ready:\n${log.slice(-4000)}`);
}

/**
 * SIGTERM, SIGKILL after 10 s, and resolves once it exited (a caller removing
 * its data directory next, or checking nothing is left running, must not race
 * it). `launch` unref'd the child: it is ref'd again while waiting, or a caller
 * with nothing else to wait for would exit before the exit event.
 */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  const exited = new Promise<void>((resolve) => child.once("exit", () => { resolve(); }));
  child.kill("SIGTERM");
  const grace = setTimeout(() => { child.kill("SIGKILL"); }, 10_000);
  await exited;
  clearTimeout(grace);
}

/** SIGKILL, as the OOM killer or a node failure would: no chance to end watches or finish requests. */
async function killProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.ref();
  const exited = new Promise<void>((resolve) => child.once("exit", () => { resolve(); }));
  child.kill("SIGKILL");
  await exited;
}

function kubeconfig(server: string, caPem: string, token: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "test", cluster: { server, "certificate-authority-data": Buffer.from(caPem).toString("base64") } }],
    users: [{ name: "admin", user: { token } }],
    contexts: [{ name: "test", context: { cluster: "test", user: "admin" } }],
    "current-context": "test",
  }, null, 2);
}
