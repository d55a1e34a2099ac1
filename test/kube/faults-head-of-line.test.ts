// Head-of-line blocking: one responder host that accepts and never answers, one
// that trickles bytes, one healthy. The healthy host's Secrets are stapled before
// a single fetch to the bad hosts has even timed out (each reconcile gives its
// worker back while it waits on a responder, and each host's backlog is bounded),
// and /healthz stays OK. Before, four workers each held a Secret of the silent
// host for its whole timeout, and 20 healthy Secrets waited over a minute.
import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { after, before, describe, it } from "node:test";
import type { Controller } from "../../src/controller/controller.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { startController } from "../support/in-process-controller.ts";
import { startServer, type RunningServer } from "../support/misbehaving-server.ts";
import { OcspRig } from "../support/ocsp-rig.ts";

const NS = "default";
const LABELS = { staple: "yes" };

void describe("one bad responder host never stalls the others", { timeout: 20 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let silent: RunningServer;
  let trickle: RunningServer;
  let controller: Controller | undefined;
  const trickling = new Set<ServerResponse>();
  const timer = setInterval(() => { for (const response of trickling) response.write("0"); }, 500);

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("head-of-line");
    silent = await startServer(() => undefined); // reads the request, never answers
    trickle = await startServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/ocsp-response" });
      trickling.add(response);
      response.on("close", () => trickling.delete(response));
    });
    // A long timeout makes the old stall plain: a bad host's fetch ends only after 20 s.
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS }, responder: { timeout: "20s" } });
    // Listed (and so queued) in name order: the bad hosts' Secrets first.
    for (let i = 0; i < 40; i++) await env.createTls(`a-silent-${String(i)}`, await rig.ca.issue({ commonName: `silent-${String(i)}.example`, ocspUrl: silent.url.href }), rig.ca, LABELS);
    for (let i = 0; i < 20; i++) await env.createTls(`b-trickle-${String(i)}`, await rig.ca.issue({ commonName: `trickle-${String(i)}.example`, ocspUrl: trickle.url.href }), rig.ca, LABELS);
    for (let i = 0; i < 20; i++) await env.createTls(`z-good-${String(i)}`, await rig.leaf(`good-${String(i)}`), rig.ca, LABELS);
  });
  after(async () => {
    clearInterval(timer);
    await controller?.stop();
    await Promise.all([silent.close(), trickle.close()]);
    await rig.stop();
    await env.stop();
  });

  void it("stapled the healthy host's Secrets before any fetch to the bad hosts ended, with /healthz OK", async () => {
    controller = await startController(env, rig.transport, { random: () => 0.5 });
    const companions = () => env.companions();
    await eventually("the 20 healthy Secrets stapled", async () => ((await companions()).length >= 20 ? true : undefined), 120);
    const metrics = await controller.metrics.registry.metrics();
    const ended = metrics.split("\n").filter((line) => /^ocsp_stapler_fetch_total\{.*result="Responder(Timeout|Unreachable)"/.test(line));
    assert.deepEqual(ended, [], "no fetch to a bad host had ended when the healthy ones were done");
    assert.deepEqual((await companions()).map((secret) => secret.metadata?.name).sort(), Array.from({ length: 20 }, (_, i) => `z-good-${String(i)}-ocsp`).sort());
    assert.ok(silent.requests.length > 0 && trickle.requests.length > 0, "the bad hosts were asked");
    assert.equal(controller.unhealthy(), undefined);
  });
});
