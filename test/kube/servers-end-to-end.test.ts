// The whole path, all real: the operator staples a TLS Secret on a real API server;
// each pod's volume is laid out from the Secrets exactly as the kubelet does
// (a projected volume: the TLS Secret and its companion, renamed for HAProxy);
// a real nginx and a real HAProxy serve it, each with `ocsp-stapler reloader`
// beside it. The first handshake after each server starts is stapled; a refresh
// by the operator reaches both without a restart.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { V1Secret } from "@kubernetes/client-node";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { systemClock, type Scheduler } from "../../src/ocsp/clock.ts";
import { haproxyCommand } from "../../src/reloader/haproxy-runtime.ts";
import { startHaproxy, type RunningHaproxy } from "../support/haproxy.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { KubeletVolume, type VolumeFiles } from "../support/kubelet-volume.ts";
import { prepareIncludingNginx, type IncludingNginx, type PreparedNginx } from "../support/nginx-include.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import { NGINX, HAPROXY, skipUnlessInstalled } from "../support/programs.ts";
import { localGet } from "../support/local-get.ts";
import { servedThisUpdate, startReloaderProcess, type ReloaderProcess } from "../support/reloader-process.ts";
import { jsonOf, runCli } from "../support/run-cli.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";
import { waitFor } from "../support/wait-for.ts";

const NS = "web";
const LABELS = { "ocsp-stapler.io/staple": "true" };
const DAY_MS = 86_400_000;
const skip = skipUnlessInstalled(NGINX, HAPROXY);

/** The files a pod sees: the Secrets' data keys, projected as `items` would rename them. */
function project(sources: readonly { secret: V1Secret; items: Readonly<Record<string, string>> }[]): VolumeFiles {
  const files: Record<string, Uint8Array> = {};
  for (const { secret, items } of sources) {
    for (const [key, path] of Object.entries(items)) {
      const value = secret.data?.[key];
      if (value !== undefined) files[path] = new Uint8Array(Buffer.from(value, "base64"));
    }
  }
  return files;
}

void describe("operator, kubelet-style volumes, reloaders, nginx and HAProxy", { skip, timeout: 50 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;
  let dir: string;
  let offsetMs = 0;
  const clock: Scheduler = { ...systemClock, now: () => new Date(Date.now() + offsetMs) };
  let nginxVolume: KubeletVolume;
  let haproxyVolume: KubeletVolume;
  let preparedNginx: PreparedNginx;
  let nginx: IncludingNginx;
  let haproxy: RunningHaproxy;
  const reloaders: ReloaderProcess[] = [];

  const readSecrets = async () => {
    const [tls, companion] = await Promise.all([env.readSecret("web-tls"), env.readSecret("web-tls-ocsp")]);
    assert.ok(tls && companion);
    return { tls, companion };
  };
  /** nginx: tls.crt, tls.key, tls.ocsp. HAProxy: tls.crt with tls.crt.key and tls.crt.ocsp beside it. */
  const nginxFiles = ({ tls, companion }: { tls: V1Secret; companion: V1Secret }) => project([{ secret: tls, items: { "tls.crt": "tls.crt", "tls.key": "tls.key" } }, { secret: companion, items: { "tls.ocsp": "tls.ocsp" } }]);
  const haproxyFiles = ({ tls, companion }: { tls: V1Secret; companion: V1Secret }) => project([{ secret: tls, items: { "tls.crt": "tls.crt", "tls.key": "tls.crt.key" } }, { secret: companion, items: { "tls.ocsp": "tls.crt.ocsp" } }]);
  const companionThisUpdate = async () => (await env.readSecret("web-tls-ocsp"))?.metadata?.annotations?.["ocsp-stapler.io/this-update"];

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("servers");
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    await env.createTls("web-tls", await rig.leaf("localhost"), rig.ca, LABELS);
    controller = new Controller({ kubeConfig: env.kubeConfig, namespaces: [NS], transport: rig.transport, clock, random: () => 0.5, logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }) });
    await controller.start();
    await eventually("the companion", companionThisUpdate);
    dir = await makeTempDir("servers");
    const secrets = await readSecrets();
    nginxVolume = await KubeletVolume.create(join(dir, "nginx-tls"), nginxFiles(secrets));
    haproxyVolume = await KubeletVolume.create(join(dir, "haproxy-tls"), haproxyFiles(secrets));
    // Each reloader starts first and is ready before its server starts, as a native sidecar with a startup probe.
    const stapleDir = join(dir, "nginx-staples");
    preparedNginx = await prepareIncludingNginx({ certPath: nginxVolume.path("tls.crt"), keyPath: nginxVolume.path("tls.key"), stapleDir });
    reloaders.push(await startReloaderProcess(["--server", "nginx", "--cert", nginxVolume.dir, "--staple", nginxVolume.path("tls.ocsp"), "--nginx-staple-dir", stapleDir, "--nginx-pid-file", preparedNginx.pidFile, "--nginx-test-command", preparedNginx.testCommand]));
    haproxy = await startHaproxy({ crtPath: haproxyVolume.path("tls.crt") });
    reloaders.push(await startReloaderProcess(["--server", "haproxy", "--cert", haproxyVolume.path("tls.crt"), "--staple", haproxyVolume.path("tls.crt.ocsp"), "--haproxy-socket", haproxy.socketPath]));
    for (const reloader of reloaders) await waitFor(async () => ((await localGet(reloader.metricsPort, "/readyz")).status === 200 ? true : undefined), "the reloader ready");
    nginx = await preparedNginx.start();
  });
  after(async () => {
    for (const reloader of reloaders) await reloader.stop();
    await haproxy.stop();
    await preparedNginx.cleanup();
    await controller.stop();
    await rig.stop();
    await env.stop();
    await removeTempDir(dir);
  });

  void it("both servers staple their first handshake: openssl s_client and ocsp-stapler check see a verified staple", async () => {
    const expected = await companionThisUpdate();
    for (const port of [nginx.port, haproxy.port]) {
      const output = await sClientStatus(port);
      assert.match(output, /OCSP Response Status: successful/);
      assert.match(output, /Cert Status: good/);
      const checked = await runCli(["check", `127.0.0.1:${port}`, "--servername", "localhost", "--json"]);
      assert.equal(checked.status, 0, checked.stdout + checked.stderr);
      assert.equal(jsonOf(checked).thisUpdate, expected);
    }
  });

  void it("a refresh by the operator reaches both servers without a restart: same HAProxy process, same nginx master", async () => {
    const before = await companionThisUpdate();
    // Four days on, the staple (7 days) is past its refresh point: the operator fetches a new one.
    offsetMs = 4 * DAY_MS;
    await env.touch("web-tls");
    const refreshed = await eventually("a refreshed companion", async () => { const value = await companionThisUpdate(); return value !== before ? value : undefined; });
    const secrets = await readSecrets();
    await nginxVolume.update(nginxFiles(secrets));
    await haproxyVolume.update(haproxyFiles(secrets));
    for (const port of [nginx.port, haproxy.port]) {
      await waitFor(async () => ((await servedThisUpdate(port)) === refreshed ? true : undefined), `port ${port} to serve thisUpdate ${refreshed}`);
    }
    assert.ok(nginx.alive() && haproxy.alive());
    assert.match(await haproxyCommand(haproxy.socketPath, "show info"), new RegExp(`^Pid: ${haproxy.pid}$`, "m"), "HAProxy: the same process, no reload");
    assert.match(await preparedNginx.errorLog(), /signal 1 \(SIGHUP\) received/, "nginx: a graceful reload of the same master");
  });
});
