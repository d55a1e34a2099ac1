// `ocsp-stapler responder` as a real process from the production build, against a
// real API server, reading the staples a real controller wrote (Companion and
// InPlace): it answers OpenSSL's client with exactly the stored bytes, forgets a
// withdrawn staple, and stops cleanly on SIGTERM, synced or not.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { freePort } from "../support/free-port.ts";
import { localGet } from "../support/local-get.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { execOpenssl } from "../support/pki-openssl.ts";
import type { Issued } from "../support/pki.ts";
import { assembleProductionApp, type ProductionApp } from "../support/production-app.ts";
import { sumSeries } from "../support/prometheus-text.ts";
import { removeTempDir } from "../support/tmp.ts";
import { waitFor } from "../support/wait-for.ts";

const NS = "shop";
const UNAUTHORIZED = Buffer.from("30030a0106", "hex");
const TRY_LATER = Buffer.from("30030a0103", "hex");

interface ResponderProcess { child: ChildProcess; ocspPort: number; metricsPort: number; output: () => string }

async function startResponderProcess(app: ProductionApp, kubeconfig: string): Promise<ResponderProcess> {
  const [ocspPort, metricsPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, [app.main, "responder", "--kubeconfig", kubeconfig, "--namespace", NS, "--listen", `127.0.0.1:${ocspPort}`, "--metrics-addr", `127.0.0.1:${metricsPort}`], { cwd: app.dir, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => { output += chunk.toString(); });
  child.stderr.on("data", (chunk: Buffer) => { output += chunk.toString(); });
  await waitFor(async () => ((await localGet(metricsPort, "/healthz")).status === 200 ? true : undefined), `the responder's /healthz; output:\n${output}`, 20_000);
  return { child, ocspPort, metricsPort, output: () => output };
}

async function stopWithSigterm(responder: ResponderProcess): Promise<number | null | "hung"> {
  const exited = new Promise<number | null>((resolve) => responder.child.once("exit", resolve));
  responder.child.kill("SIGTERM");
  return Promise.race([exited, sleep(10_000, "hung" as const)]);
}

void describe("ocsp-stapler responder, the process, on a real API server", { timeout: 50 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;
  let app: ProductionApp;
  let responder: ResponderProcess;
  let companionLeaf: Issued;
  let inPlaceLeaf: Issued;
  let strangerLeaf: Issued;

  /** OpenSSL's OCSP client against the responder: its exit status, output and the answer's bytes. */
  const ask = async (leaf: Issued, port = responder.ocspPort) => {
    const out = join(rig.ca.dir, `answer-${leaf.serialHex}-${Date.now()}.der`);
    const result = await execOpenssl(["ocsp", "-issuer", rig.ca.certPath, "-cert", leaf.certPath, "-url", `http://127.0.0.1:${port}/ocsp`, "-CAfile", rig.ca.certPath, "-no_nonce", "-respout", out]);
    return { ...result, der: await readFile(out).catch(() => Buffer.alloc(0)) };
  };
  const secretValue = async (name: string, key: string) => Buffer.from((await env.readSecret(name))?.data?.[key] ?? "", "base64");

  before(async () => {
    app = await assembleProductionApp();
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("responder-process");
    await env.applyConfig("companions", { secretSelector: { matchLabels: { mode: "companion" } } });
    await env.applyConfig("in-place", { secretSelector: { matchLabels: { mode: "in-place" } }, target: { mode: "InPlace", keys: ["tls.ocsp-staple"] } });
    controller = new Controller({ kubeConfig: env.kubeConfig, namespaces: [NS], transport: rig.transport, clock: systemClock, random: Math.random, logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }) });
    await controller.start();
    [companionLeaf, inPlaceLeaf, strangerLeaf] = [await rig.leaf("web"), await rig.leaf("gateway"), await rig.leaf("stranger")];
    await env.createTls("web-tls", companionLeaf, rig.ca, { mode: "companion" });
    await env.createTls("gw-tls", inPlaceLeaf, rig.ca, { mode: "in-place" });
    await env.createTls("stranger-tls", strangerLeaf, rig.ca, {});
    await eventually("the companion staple", async () => ((await secretValue("web-tls-ocsp", "tls.ocsp")).length > 0 ? true : undefined));
    await eventually("the InPlace staple", async () => ((await secretValue("gw-tls", "tls.ocsp-staple")).length > 0 ? true : undefined));
    responder = await startResponderProcess(app, env.plane.kubeconfigPath);
  });
  after(async () => {
    if (responder.child.exitCode === null) responder.child.kill("SIGKILL");
    await controller.stop();
    await rig.stop();
    await env.stop();
    await removeTempDir(app.dir);
  });

  void it("becomes ready once it has read the staples, and counts them", async () => {
    await waitFor(async () => ((await localGet(responder.metricsPort, "/readyz")).status === 200 ? true : undefined), `/readyz 200; output:\n${responder.output()}`, 20_000);
    assert.equal(sumSeries((await localGet(responder.metricsPort, "/metrics")).body, "ocsp_stapler_responder_staples"), 2);
  });

  void it("answers a companion's certificate and an InPlace certificate with exactly the bytes the operator stored", async () => {
    const companion = await ask(companionLeaf);
    assert.equal(companion.code, 0, companion.stderr);
    assert.match(companion.stdout, /: good/);
    assert.deepEqual(companion.der, await secretValue("web-tls-ocsp", "tls.ocsp"));
    const inPlace = await ask(inPlaceLeaf);
    assert.equal(inPlace.code, 0, inPlace.stderr);
    assert.deepEqual(inPlace.der, await secretValue("gw-tls", "tls.ocsp-staple"));
  });

  void it("a SHA-256 CertID finds the same staple, through the operator's cert-ids annotation", async () => {
    const out = join(rig.ca.dir, "sha256-answer.der");
    const result = await execOpenssl(["ocsp", "-issuer", rig.ca.certPath, "-sha256", "-cert", companionLeaf.certPath, "-url", `http://127.0.0.1:${responder.ocspPort}/`, "-no_nonce", "-respout", out]);
    assert.deepEqual(await readFile(out), await secretValue("web-tls-ocsp", "tls.ocsp"), result.stdout + result.stderr);
  });

  void it("a certificate the operator does not staple gets unauthorized: the responder never asks the CA", async () => {
    const before = rig.responder.requests.length;
    const stranger = await ask(strangerLeaf);
    assert.deepEqual(stranger.der, UNAUTHORIZED);
    assert.equal(rig.responder.requests.length, before);
  });

  void it("a withdrawn staple is forgotten with the event that removed it", async () => {
    await env.kubectl(["label", "secret", "web-tls", "-n", NS, "mode-"]);
    await eventually("the companion deleted", async () => ((await env.readSecret("web-tls-ocsp")) === undefined ? true : undefined));
    await eventually("unauthorized for the deselected certificate", async () => ((await ask(companionLeaf)).der.equals(UNAUTHORIZED) ? true : undefined));
    assert.deepEqual((await ask(inPlaceLeaf)).der, await secretValue("gw-tls", "tls.ocsp-staple"));
  });

  void it("logs JSON lines and never any key material", () => {
    const lines = responder.output().split("\n").filter((line) => line.trim() !== "");
    assert.ok(lines.length > 0);
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), line);
    assert.doesNotMatch(responder.output(), /PRIVATE KEY|tls\.key/);
  });

  void it("stops on SIGTERM with exit status 0", async () => {
    assert.equal(await stopWithSigterm(responder), 0, responder.output());
  });

  void it("before its first sync (an API server that does not answer): tryLater, not ready, and SIGTERM still stops it", async () => {
    const deadKubeconfig = join(rig.ca.dir, "dead-kubeconfig");
    const deadPort = await freePort();
    await writeFile(deadKubeconfig, (await readFile(env.plane.kubeconfigPath, "utf8")).replace(/"server": "[^"]+"/, `"server": "https://127.0.0.1:${deadPort}"`));
    const unsynced = await startResponderProcess(app, deadKubeconfig);
    try {
      assert.equal((await localGet(unsynced.metricsPort, "/readyz")).status, 503);
      assert.deepEqual((await ask(inPlaceLeaf, unsynced.ocspPort)).der, TRY_LATER);
      assert.equal(await stopWithSigterm(unsynced), 0, unsynced.output());
    } finally {
      if (unsynced.child.exitCode === null) unsynced.child.kill("SIGKILL");
    }
  });
});
