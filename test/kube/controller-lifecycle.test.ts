// Start-up and shutdown of `ocsp-stapler controller` as a real process, in every
// state: before its first LIST (API server refusing connections, or accepting
// and never answering), during the initial sync, while a write hangs, leading,
// standing by. A start that fails (429 while the API server initialises) is
// retried with the server's Retry-After, /healthz stays OK while it can recover,
// and every failure names the server and the cause. A proxy in front of the real
// kube-apiserver makes the faults (test/support/api-proxy.ts).
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { PooledKubeConfig } from "../../src/kube/pooled-kube-config.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { ApiProxy, writePlainKubeconfig } from "../support/api-proxy.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { freePort } from "../support/free-port.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { waitFor } from "../support/wait-for.ts";

const NS = "default";
const LABELS = { staple: "yes" };
/** SIGTERM must end the process about this soon in every state (a 1 s grace for in-flight work, then it abandons). */
const EXIT_WITHIN_MS = 3_000;

void describe("the controller process starting and stopping", { timeout: 20 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let proxy: ApiProxy;
  let proxied: string;
  const processes: ControllerProcess[] = [];
  const start = async (kubeconfig: string, args: string[] = ["--namespace", NS]) => {
    const controller = await ControllerProcess.start(kubeconfig, args);
    processes.push(controller);
    return controller;
  };
  const stopsCleanly = async (controller: ControllerProcess) => {
    const { code, ms } = await controller.terminate();
    assert.equal(code, 0, controller.output);
    assert.ok(ms < EXIT_WITHIN_MS, `exited ${String(Math.round(ms))} ms after SIGTERM`);
  };

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("lifecycle");
    proxy = await ApiProxy.start(env.plane);
    proxied = await proxy.writeKubeconfig(env.plane.dir);
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    await env.createTls("web-tls", await rig.leaf("web-tls"), rig.ca, LABELS);
  });
  after(async () => {
    for (const controller of processes) controller.kill();
    await proxy.stop();
    await rig.stop();
    await env.stop();
  });

  void it("API server refusing connections: retries, names the server and the cause, and SIGTERM ends it at once", async () => {
    const server = `http://127.0.0.1:${String(await freePort())}`; // nothing listens there
    const controller = await start(await writePlainKubeconfig(env.plane.dir, server, env.plane.token));
    const failure = await controller.waitForLog(/list failed; retrying/);
    assert.equal(failure.server, server);
    assert.match(String(failure.err), /ECONNREFUSED/);
    assert.equal((await controller.get("/healthz")).status, 200, "still able to recover");
    assert.equal((await controller.get("/readyz")).status, 503);
    await waitFor(() => Promise.resolve(controller.logs(/list failed; retrying/).length >= 6 ? true : undefined), "a few retries", 20_000);
    await stopsCleanly(controller);
  });

  void it("API server accepting connections and never answering: SIGTERM ends it at once", async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => { sockets.push(socket); });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const address = silent.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    const controller = await start(await writePlainKubeconfig(env.plane.dir, `http://127.0.0.1:${String(port)}`, env.plane.token));
    await waitFor(() => Promise.resolve(sockets.length >= 3 ? true : undefined), "the controller to connect", 20_000);
    await stopsCleanly(controller);
    for (const socket of sockets) socket.destroy();
    silent.close();
  });

  void it("429 with Retry-After on the first LISTs: waits as told, /healthz stays OK, then syncs and staples", async () => {
    let refused = 0;
    proxy.verdict = (request) => {
      if (request.method === "GET" && request.url.includes("stapleconfigs") && !request.url.includes("watch=true") && refused < 2) {
        refused++;
        return { kind: "answer", status: 429, headers: { "retry-after": "1" }, body: { kind: "Status", apiVersion: "v1", status: "Failure", message: "storage is (re)initializing", reason: "TooManyRequests", code: 429 } };
      }
      return { kind: "forward" };
    };
    const controller = await start(proxied);
    const failure = await controller.waitForLog(/list failed; retrying/);
    assert.match(String(failure.err), /^HTTP 429: storage is \(re\)initializing$/);
    assert.equal(failure.delayMs, 1000, "Retry-After honoured");
    assert.equal((await controller.get("/healthz")).status, 200);
    await waitFor(async () => ((await controller.get("/readyz")).status === 200 ? true : undefined), "/readyz after the 429s", 30_000);
    await eventually("the staple", async () => (await env.readSecret("web-tls-ocsp"))?.data?.["tls.ocsp"]);
    assert.equal(refused, 2);
    proxy.verdict = () => ({ kind: "forward" });
    await stopsCleanly(controller);
  });

  void it("SIGTERM during the initial sync (a LIST the server never answers)", async () => {
    proxy.verdict = (request) => (request.method === "GET" && request.url.includes("/secrets") && !request.url.includes("watch=true") ? { kind: "hold" } : { kind: "forward" });
    const seenBefore = proxy.seen.length;
    const controller = await start(proxied);
    await waitFor(() => Promise.resolve(proxy.seen.slice(seenBefore).some((request) => request.url.includes("/secrets")) ? true : undefined), "the Secret LIST to be held", 20_000);
    assert.equal((await controller.get("/readyz")).status, 503);
    await stopsCleanly(controller);
    proxy.verdict = () => ({ kind: "forward" });
  });

  void it("SIGTERM while a write hangs: it abandons the write after its grace and exits 0", async () => {
    await env.createTls("slow-tls", await rig.leaf("slow-tls"), rig.ca, LABELS);
    const seenBefore = proxy.seen.length;
    proxy.verdict = (request) => (request.method === "PATCH" && request.url.includes("/secrets/slow-tls-ocsp") ? { kind: "hold" } : { kind: "forward" });
    const controller = await start(proxied);
    await waitFor(() => Promise.resolve(proxy.seen.slice(seenBefore).some((request) => request.method === "PATCH" && request.url.includes("slow-tls-ocsp")) ? true : undefined), "the companion write to be held", 30_000);
    await stopsCleanly(controller);
    assert.equal(controller.logs(/in-flight requests abandoned/).length, 1, controller.output);
    proxy.verdict = () => ({ kind: "forward" });
  });

  void it("SIGTERM while leading and while standing by: both exit 0 at once", async () => {
    const leader = await start(env.plane.kubeconfigPath, ["--namespace", NS, "--leader-elect", "--leader-elect-namespace", NS]);
    await leader.waitForLog(/became leader/);
    const standby = await start(env.plane.kubeconfigPath, ["--namespace", NS, "--leader-elect", "--leader-elect-namespace", NS]);
    await waitFor(async () => ((await standby.get("/readyz")).status === 200 ? true : undefined), "the standby's caches", 30_000);
    assert.equal(standby.logs(/became leader/).length, 0);
    await stopsCleanly(standby);
    await stopsCleanly(leader);
  });

  void it("stopped while its first LIST is still out: a late answer does not start it working or standing for the Lease", async () => {
    proxy.verdict = (request) => (request.method === "GET" && request.url.includes("/secrets") && !request.url.includes("watch=true") ? { kind: "hold" } : { kind: "forward" });
    const seenBefore = proxy.seen.length;
    const kubeConfig = new PooledKubeConfig();
    kubeConfig.loadFromFile(proxied);
    const controller = new Controller({
      kubeConfig, namespaces: [NS], transport: rig.transport, clock: systemClock, random: Math.random, logger: pino({ level: "silent" }),
      leaderElection: { namespace: NS, name: "late-lease", identity: "late" },
    });
    const starting = controller.start();
    await waitFor(() => Promise.resolve(proxy.seen.slice(seenBefore).some((request) => request.url.includes("/secrets")) ? true : undefined), "the Secret LIST to be held", 20_000);
    await controller.stop();
    proxy.verdict = () => ({ kind: "forward" });
    proxy.releaseHeld();
    await starting; // the late LIST has answered
    assert.equal(controller.synced, false);
    assert.equal(controller.leading, false);
    await assert.rejects(env.kubeConfig.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: "late-lease", namespace: NS }), /404/);
    await kubeConfig.destroy();
  });
});
