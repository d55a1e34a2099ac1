// The whole path, all real: the operator staples a TLS Secret on a real API server;
// each pod's volume is laid out from the Secrets exactly as the kubelet does
// (a projected volume: the TLS Secret and its companion, renamed for HAProxy);
// a real nginx and a real HAProxy serve it, each with `ocsp-stapler reloader`
// beside it. The first handshake after each server starts is stapled; a refresh
// by the operator reaches both without a restart.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { systemClock, type Scheduler } from "../../src/ocsp/clock.ts";
import { haproxyCommand } from "../../src/reloader/haproxy-runtime.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import { NGINX, HAPROXY, skipUnlessInstalled } from "../support/programs.ts";
import { servedThisUpdate } from "../support/reloader-process.ts";
import { jsonOf, runCli } from "../support/run-cli.ts";
import { haproxyPodFiles, nginxPodFiles, readPodSecrets, startHaproxyPod, startNginxPod, type HaproxyPod, type NginxPod } from "../support/server-pods.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";
import { waitFor } from "../support/wait-for.ts";

const NS = "web";
const LABELS = { "ocsp-stapler.io/staple": "true" };
const DAY_MS = 86_400_000;
const skip = skipUnlessInstalled(NGINX, HAPROXY);

void describe("operator, kubelet-style volumes, reloaders, nginx and HAProxy", { skip, timeout: 50 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;
  let dir: string;
  let offsetMs = 0;
  const clock: Scheduler = { ...systemClock, now: () => new Date(Date.now() + offsetMs) };
  let nginxPod: NginxPod;
  let haproxyPod: HaproxyPod;
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
    const secrets = await readPodSecrets(env, "web-tls");
    nginxPod = await startNginxPod(join(dir, "nginx"), nginxPodFiles(secrets));
    haproxyPod = await startHaproxyPod(join(dir, "haproxy"), haproxyPodFiles(secrets));
  });
  after(async () => {
    await nginxPod.stop();
    await haproxyPod.stop();
    await controller.stop();
    await rig.stop();
    await env.stop();
    await removeTempDir(dir);
  });

  void it("both servers staple their first handshake: openssl s_client and ocsp-stapler check see a verified staple", async () => {
    const expected = await companionThisUpdate();
    const { nginx } = nginxPod;
    const { haproxy } = haproxyPod;
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
    const secrets = await readPodSecrets(env, "web-tls");
    await nginxPod.volume.update(nginxPodFiles(secrets));
    await haproxyPod.volume.update(haproxyPodFiles(secrets));
    const { nginx } = nginxPod;
    const { haproxy } = haproxyPod;
    for (const port of [nginx.port, haproxy.port]) {
      await waitFor(async () => ((await servedThisUpdate(port)) === refreshed ? true : undefined), `port ${port} to serve thisUpdate ${refreshed}`);
    }
    assert.ok(nginx.alive() && haproxy.alive());
    assert.match(await haproxyCommand(haproxy.socketPath, "show info"), new RegExp(`^Pid: ${haproxy.pid}$`, "m"), "HAProxy: the same process, no reload");
    assert.match(await nginxPod.prepared.errorLog(), /signal 1 \(SIGHUP\) received/, "nginx: a graceful reload of the same master");
  });
});
