// When things break: kube-apiserver restarting mid-run, and the OCSP responder going
// down with a staple in place (kept until its usable end, Degraded, then withdrawn)
// and without one (nothing written). Staples live for days, so the controller runs
// on a clock the test moves forward; everything else (API server, responder, TLS
// Secrets) is real.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Controller } from "../../src/controller/controller.ts";
import { systemClock, type Scheduler } from "../../src/ocsp/clock.ts";
import { conditionOf, eventually, KubeEnv } from "../support/kube-env.ts";
import { startController } from "../support/in-process-controller.ts";
import { OcspRig } from "../support/ocsp-rig.ts";

const NS = "default";
const LABELS = { staple: "yes" };
const DAY = 86_400_000;

void describe("the controller when things break", { timeout: 50 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let offsetMs = 0;
  const clock: Scheduler = { ...systemClock, now: () => new Date(Date.now() + offsetMs) };
  let controller: Controller;

  const staple = async (name: string): Promise<void> => { await env.createTls(name, await rig.leaf(name), rig.ca, LABELS); };
  const resourceVersion = async (name: string) => (await env.readSecret(name))?.metadata?.resourceVersion;

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("failures");
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    controller = await startController(env, rig.transport, { clock, random: () => 0.5 });
  });
  after(async () => {
    await controller.stop();
    await rig.stop();
    await env.stop();
  });

  void it("a routine refresh writes the fresh staple and records no Event (Events mark transitions)", async () => {
    await staple("routine-tls");
    await eventually("the first staple's Event", async () => ((await env.eventReasons("Secret", "routine-tls")).includes("Stapled") ? true : undefined));
    const first = (await env.readSecret("routine-tls-ocsp"))?.metadata?.resourceVersion;
    offsetMs = 4 * DAY; // past the refresh point (half of 7 days)
    await env.touch("routine-tls");
    await eventually("the refreshed staple", async () => ((await env.readSecret("routine-tls-ocsp"))?.metadata?.resourceVersion !== first ? true : undefined));
    // A first staple elsewhere records an Event after any the refresh could have queued: once it is there, all are.
    await staple("marker-tls");
    await eventually("the marker's Event", async () => ((await env.eventReasons("Secret", "marker-tls")).includes("Stapled") ? true : undefined));
    assert.deepEqual(await env.eventReasons("Secret", "routine-tls"), ["Stapled"]);
    offsetMs = 0;
  });

  void it("kube-apiserver restarts mid-run: no staple lost, and watching resumes", async () => {
    await staple("steady-tls");
    await eventually("the first staple", () => env.readSecret("steady-tls-ocsp"));
    const before = await resourceVersion("steady-tls-ocsp");
    await env.plane.restartApiServer();
    await staple("after-restart-tls");
    await eventually("a staple for a Secret created after the restart", () => env.readSecret("after-restart-tls-ocsp"), 60);
    assert.equal(await resourceVersion("steady-tls-ocsp"), before);
  });

  void it("the responder goes down with a staple in place: kept and Degraded while usable", async () => {
    await staple("kept-tls");
    await eventually("the staple", () => env.readSecret("kept-tls-ocsp"));
    await rig.responder.stop();
    offsetMs = 4 * DAY; // past the refresh point (half of 7 days), well before nextUpdate
    await env.touch("kept-tls");
    const entry = await env.entry("web", "kept-tls", (candidate) => candidate.error?.code === "ResponderUnreachable");
    // The kept staple is still described (and its expiry still exported) beside the error.
    assert.deepEqual([entry.staple, entry.certStatus, typeof entry.nextUpdate], ["kept-tls-ocsp", "Good", "string"]);
    assert.ok(await env.readSecret("kept-tls-ocsp"), "the staple stays while it is usable");
    const status = await env.statusOf("web");
    assert.equal(conditionOf(status, "Degraded")?.status, "True");
    assert.equal(conditionOf(status, "Degraded")?.reason, "ResponderUnreachable");
    await eventually("a FetchFailed Event", async () => ((await env.eventReasons("Secret", "kept-tls")).includes("FetchFailed") ? true : undefined));
  });

  void it("…warns once with StapleExpiring when less than a day is left", async () => {
    offsetMs = 6.5 * DAY;
    await env.touch("kept-tls");
    await eventually("a StapleExpiring Event", async () => ((await env.eventReasons("Secret", "kept-tls")).includes("StapleExpiring") ? true : undefined));
    const failures = () => controller.secretStates.get(`${NS}/kept-tls`)?.failures ?? 0;
    const before = failures();
    offsetMs = 6.6 * DAY;
    await env.touch("kept-tls");
    await eventually("the next failed retry", () => Promise.resolve(failures() > before ? true : undefined));
    // That reconcile has finished and the Events it recorded, if any, are written: only then are they counted.
    await controller.whenIdle();
    // Once each for the whole failure streak (Events have one-second timestamps, so their order is not compared).
    const reasons = await env.eventReasons("Secret", "kept-tls");
    assert.deepEqual([reasons.filter((reason) => reason === "FetchFailed").length, reasons.filter((reason) => reason === "StapleExpiring").length], [1, 1]);
  });

  void it("…and withdrawn once its usable window ends, so no server serves an expired staple", async () => {
    offsetMs = 8 * DAY; // past nextUpdate (7 days)
    await env.touch("kept-tls");
    await eventually("the expired staple to be withdrawn", async () => ((await env.readSecret("kept-tls-ocsp")) === undefined ? true : undefined));
    // Status writes are gathered for a second, so the entry may still show the previous error for a moment.
    const entry = await env.entry("web", "kept-tls", (candidate) => candidate.error?.code === "StapleExpired");
    assert.equal(entry.staple, undefined, "the status no longer describes the withdrawn staple");
    await eventually("a StapleWithdrawn Event", async () => ((await env.eventReasons("Secret", "kept-tls")).includes("StapleWithdrawn") ? true : undefined));
  });

  void it("the responder is down and there is no staple yet: nothing is written", async () => {
    await staple("never-tls");
    const entry = await env.entry("web", "never-tls", (candidate) => candidate.error !== undefined);
    assert.equal(entry.error?.code, "ResponderUnreachable");
    assert.equal(await env.readSecret("never-tls-ocsp"), undefined);
  });
});
