// Consumer profiles on a real API server: the responder (`openssl ocsp` without -ndays)
// answers without nextUpdate — a response that verifies, but that Envoy treats as
// expired. A StapleConfig whose consumer is Envoy publishes nothing and says
// ConsumerWouldReject; one for nginx (which checks nothing) staples the same answer;
// once the responder gives a nextUpdate again, Envoy's staples are written.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Controller } from "../../src/controller/controller.ts";
import { conditionOf, eventually, KubeEnv } from "../support/kube-env.ts";
import { startController } from "../support/in-process-controller.ts";
import { OcspRig } from "../support/ocsp-rig.ts";

const NS = "default";
const ENVOY = { staple: "envoy" };
const NGINX = { staple: "nginx" };

void describe("consumer profiles on a real API server", { timeout: 20 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("consumers");
    // No -ndays/-nmin: every answer lacks nextUpdate (the engine serves it for an hour).
    await rig.responder.restart({ nextUpdateDays: undefined });
    await env.applyConfig("gateway", {
      secretSelector: { matchLabels: ENVOY },
      target: { mode: "InPlace", keys: ["ocsp.staple"], consumer: "Envoy" },
      refresh: { retry: { initial: "2s", max: "4s" } },
    });
    await env.applyConfig("web", { secretSelector: { matchLabels: NGINX }, target: { consumer: "Nginx" } });
    controller = await startController(env, rig.transport, { random: () => 0.5 });
  });
  after(async () => {
    await controller.stop();
    await rig.stop();
    await env.stop();
  });

  void it("a response without nextUpdate is not published for Envoy: ConsumerWouldReject, nothing written", async () => {
    await env.createTls("gw-tls", await rig.leaf("gw"), rig.ca, ENVOY);
    const entry = await env.entry("gateway", "gw-tls", (candidate) => candidate.error?.code === "ConsumerWouldReject");
    assert.match(entry.error?.message ?? "", /Envoy would reject it \(NextUpdateRequired\)/);
    assert.equal(entry.staple, undefined);
    const secret = await env.readSecret("gw-tls");
    assert.equal(secret?.data?.["ocsp.staple"], undefined, "no staple key in the TLS Secret");
    await eventually("the status condition", async () => (conditionOf(await env.statusOf("gateway"), "Degraded")?.reason === "ConsumerWouldReject" ? true : undefined));
  });

  void it("the same answer is stapled for nginx, which checks nothing", async () => {
    await env.createTls("web-tls", await rig.leaf("web"), rig.ca, NGINX);
    await eventually("the nginx staple", () => env.readSecret("web-tls-ocsp"));
  });

  void it("once the responder gives a nextUpdate, Envoy's staple is written", async () => {
    // A new certificate: the fetcher shares an answer for a few minutes (staple-fetcher.ts),
    // so gw-tls's refused one would still be served to its retries.
    await rig.responder.restart({ nextUpdateDays: 7 });
    await env.createTls("gw2-tls", await rig.leaf("gw2"), rig.ca, ENVOY);
    await eventually("the Envoy staple", async () => ((await env.readSecret("gw2-tls"))?.data?.["ocsp.staple"] === undefined ? undefined : true), 60);
    const entry = await env.entry("gateway", "gw2-tls", (candidate) => candidate.error === undefined && candidate.staple !== undefined);
    assert.equal(entry.certStatus, "Good");
  });
});
