// A leaf outside its validity is never fetched for, let alone in a loop: an
// expired one (whose staple's usable end, the leaf's notAfter, is already past,
// so every fresh staple used to be due for refresh at once: 1,000 fetches and
// writes in 20 s) is reported as CertificateExpired and its staple withdrawn;
// one not valid yet is reported as CertificateNotYetValid and stapled once its
// notBefore comes. Real API server and responder; the controller's clock is moved.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Controller } from "../../src/controller/controller.ts";
import { systemClock, type Scheduler } from "../../src/ocsp/clock.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { startController } from "../support/in-process-controller.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { sumSeries } from "../support/prometheus-text.ts";

const NS = "default";
const LABELS = { staple: "yes" };
const DAY = 86_400_000;

void describe("leaves outside their validity", { timeout: 20 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let offsetMs = 0;
  const clock: Scheduler = { ...systemClock, now: () => new Date(Date.now() + offsetMs) };
  let controller: Controller;
  const fetches = async () => sumSeries(await controller.metrics.registry.metrics(), "ocsp_stapler_fetch_total");
  const reconciles = async () => sumSeries(await controller.metrics.registry.metrics(), "ocsp_stapler_reconcile_total");

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("validity");
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    controller = await startController(env, rig.transport, { clock, random: () => 0.5 });
  });
  after(async () => {
    await controller.stop();
    await rig.stop();
    await env.stop();
  });

  void it("an expired leaf is reported with CertificateExpired and never fetched for", async () => {
    // Known to the responder as good: were it fetched, a staple would be written (and, before the fix, again and again).
    const expired = await rig.leaf("expired-tls", "good", { notBefore: new Date(Date.now() - 60 * DAY), notAfter: new Date(Date.now() - DAY) });
    const fetchesBefore = await fetches();
    await env.createTls("expired-tls", expired, rig.ca, LABELS);
    const entry = await env.entry("web", "expired-tls", (candidate) => candidate.error !== undefined);
    assert.equal(entry.error?.code, "CertificateExpired");
    assert.match(entry.error.message ?? "", /expired at /);
    await eventually("a CertificateExpired Event", async () => ((await env.eventReasons("Secret", "expired-tls")).includes("CertificateExpired") ? true : undefined));
    // A good Secret created afterwards goes through the same queue: once it is stapled, the expired one has had every chance to loop.
    const reconcilesBefore = await reconciles();
    await env.createTls("fresh-tls", await rig.leaf("fresh-tls"), rig.ca, LABELS);
    await eventually("the good Secret's staple", () => env.readSecret("fresh-tls-ocsp"));
    assert.equal(await fetches(), fetchesBefore + 1, "only the good Secret was fetched for");
    assert.ok(await reconciles() - reconcilesBefore < 10, "no reconcile loop");
    assert.equal(await env.readSecret("expired-tls-ocsp"), undefined);
  });

  void it("a staple in place is withdrawn when its leaf expires, and nothing is fetched", async () => {
    const shortLived = await rig.leaf("short-tls", "good", { notBefore: new Date(Date.now() - DAY), notAfter: new Date(Date.now() + 2 * DAY) });
    await env.createTls("short-tls", shortLived, rig.ca, LABELS);
    await eventually("the staple", () => env.readSecret("short-tls-ocsp"));
    const fetchesBefore = await fetches();
    offsetMs = 3 * DAY; // past the leaf's notAfter (and so past the staple's usable end)
    await env.touch("short-tls");
    await eventually("the staple withdrawn", async () => ((await env.readSecret("short-tls-ocsp")) === undefined ? true : undefined));
    const entry = await env.entry("web", "short-tls", (candidate) => candidate.error !== undefined);
    assert.equal(entry.error?.code, "CertificateExpired");
    assert.equal(await fetches(), fetchesBefore);
    offsetMs = 0;
  });

  void it("a leaf not valid yet is reported with CertificateNotYetValid, then stapled from its notBefore", async () => {
    const early = await rig.leaf("early-tls", "good", { notBefore: new Date(Date.now() + DAY), notAfter: new Date(Date.now() + 90 * DAY) });
    await env.createTls("early-tls", early, rig.ca, LABELS);
    const entry = await env.entry("web", "early-tls", (candidate) => candidate.error !== undefined);
    assert.equal(entry.error?.code, "CertificateNotYetValid");
    assert.equal(await env.readSecret("early-tls-ocsp"), undefined);
    offsetMs = DAY + 60_000; // its notBefore has come; the OpenSSL responder signs with the real time, so thisUpdate is a day "old" for the controller
    await env.touch("early-tls");
    await eventually("the staple once the leaf is valid", () => env.readSecret("early-tls-ocsp"));
  });
});
