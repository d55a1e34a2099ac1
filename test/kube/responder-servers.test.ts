// Servers that can only fetch a staple from a URL, pointed at the in-cluster
// responder: a real Apache httpd (mod_ssl, SSLStaplingForceURL) and a real nginx
// (ssl_stapling_responder) serve the staple the operator wrote to a real API
// server, byte for byte; the CA's responder sees only the operator's one request
// per certificate, and stapling goes on while the CA's responder is down, until
// the staple's usable end. Also prints (not asserts) Apache pointed at the CA
// directly beside Apache pointed at the responder.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { Responder } from "../../src/responder/responder.ts";
import { startResponderServer, type RunningResponderServer } from "../../src/responder/responder-server.ts";
import { servableStaple } from "../../src/responder/servable-staple.ts";
import { apacheSideBySide } from "../support/apache-side-by-side.ts";
import { withApache, type RunningApache } from "../support/apache.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { startNginx } from "../support/nginx.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import type { Issued } from "../support/pki.ts";
import { APACHE, NGINX, skipUnlessInstalled } from "../support/programs.ts";
import { jsonOf, runCli } from "../support/run-cli.ts";
import { handshake, handshakeUntilStapled, stapleStatus } from "../support/stapled-handshakes.ts";

const NS = "web";
/** The settings the README recommends: never staple an error, never make one up. */
const RECOMMENDED = { returnResponderErrors: false, fakeTryLater: false } as const;

void describe("Apache and nginx staple from the in-cluster responder", { timeout: 50 * 60_000, skip: skipUnlessInstalled(APACHE, NGINX) }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;
  let responder: Responder;
  let server: RunningResponderServer;
  let leaf: Issued;
  let chainPath: string;
  let stored: Buffer;
  let responderUrl: string;
  /** The responder's view of the time (its reflectors run on real time). */
  let aheadMs = 0;
  const logger = pino({ level: process.env.LOG_LEVEL ?? "silent" });

  const withApacheAtResponder = (body: (apache: RunningApache) => Promise<void>, processes = 2) =>
    withApache({ certPath: chainPath, keyPath: leaf.keyPath, stapling: { forceUrl: `${responderUrl}/ocsp`, ...RECOMMENDED }, processes }, body);

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("responder-servers");
    leaf = await rig.leaf("localhost");
    chainPath = join(rig.ca.dir, "served-chain.pem");
    await writeFile(chainPath, leaf.certPem + rig.ca.certPem);
    await env.applyConfig("all", {});
    controller = new Controller({ kubeConfig: env.kubeConfig, namespaces: [NS], transport: rig.transport, clock: systemClock, random: Math.random, logger });
    await controller.start();
    await env.createTls("web-tls", leaf, rig.ca, {});
    stored = await eventually("the operator's staple", async () => {
      const value = (await env.readSecret("web-tls-ocsp"))?.data?.["tls.ocsp"];
      return value === undefined ? undefined : Buffer.from(value, "base64");
    });
    responder = new Responder({ kubeConfig: env.kubeConfig, namespaces: [NS], clock: systemClock, logger });
    await responder.start();
    server = await startResponderServer({
      address: "127.0.0.1:0", index: responder.index, ready: () => responder.synced, metrics: responder.metrics, logger,
      clock: { now: () => new Date(Date.now() + aheadMs) },
    });
    responderUrl = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    await server.close();
    responder.stop();
    await controller.stop();
    await rig.stop();
    await env.stop();
  });

  void it("Apache (SSLStaplingForceURL) staples the operator's staple byte for byte; s_client and check verify it; the CA saw only the operator", async () => {
    assert.equal(rig.responder.requests.length, 1, "the operator's one request");
    await withApacheAtResponder(async (apache) => {
      const output = await sClientStatus(apache.port);
      assert.match(output, /OCSP Response Status: successful \(0x0\)/);
      assert.match(output, /Cert Status: good/);
      const check = await runCli(["check", `127.0.0.1:${apache.port}`, "--servername", "localhost.example", "--json"]);
      assert.equal(check.status, 0, check.stdout + check.stderr);
      assert.equal(jsonOf(check).serial, leaf.serialHex);
      assert.deepEqual(Buffer.from((await handshake(apache.port)).staple ?? []), stored);
    });
    assert.equal(rig.responder.requests.length, 1, "Apache never asked the CA");
  });

  void it("nginx (ssl_stapling_responder, ssl_stapling_verify) staples the same bytes", async () => {
    const nginx = await startNginx({ certPath: chainPath, keyPath: leaf.keyPath, builtInStapling: { responderUrl: `${responderUrl}/`, trustedCertificate: rig.ca.certPath } });
    try {
      const stapled = await handshakeUntilStapled(nginx.port);
      assert.deepEqual(Buffer.from(stapled.staple), stored);
    } catch (error) {
      throw new Error(`${String(error)}\nnginx's error log:\n${await nginx.errorLog()}`, { cause: error });
    } finally {
      await nginx.stop();
    }
    assert.equal(rig.responder.requests.length, 1, "nginx never asked the CA");
  });

  void it("side by side (printed): Apache with 4 processes pointed at the CA, and at the responder", async () => {
    const options = { certPath: chainPath, keyPath: leaf.keyPath, processes: 4, handshakes: 12 };
    const direct = await apacheSideBySide({ ...options, responderUrl: rig.ocspUrl });
    const viaResponder = await apacheSideBySide({ ...options, responderUrl: `${responderUrl}/ocsp` });
    console.log(`# Apache, 4 processes, 12 handshakes — pointed at the CA: ${JSON.stringify(direct)}`);
    console.log(`# Apache, 4 processes, 12 handshakes — pointed at the in-cluster responder: ${JSON.stringify(viaResponder)}`);
    assert.equal(viaResponder.stapledHandshakes, 12, "every handshake through the responder is stapled");
  });

  void it("with the CA's responder down, a freshly started Apache still staples the operator's staple", async () => {
    await rig.responder.stop();
    await withApacheAtResponder(async (apache) => {
      assert.deepEqual(Buffer.from((await handshake(apache.port)).staple ?? []), stored);
    });
  });

  void it("past the staple's usable end the responder serves nothing, and Apache staples nothing (never an expired staple)", async () => {
    const staple = servableStaple(stored) ?? assert.fail("the stored staple does not read");
    aheadMs = staple.usableUntilMs - Date.now() + 1_000;
    await withApacheAtResponder(async (apache) => {
      const first = await handshake(apache.port);
      assert.equal(stapleStatus(first.staple), "none");
    });
  });
});
