// The end of public OCSP (README, "When your CA turns OCSP off"), on a real API server with
// the controller and a real OpenSSL responder: a certificate whose CA names no responder is
// reported (a notice, status.noResponder, one Normal Event, a gauge), never fetched for and
// never Degraded; a must-staple certificate that cannot be stapled (its CA names no responder,
// or its responder does not know it) fails, flagged MustStapleUnstapled: the condition reason,
// status.mustStapleUnstapled, the entry's mustStaple, a Warning Event and its gauge.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Controller } from "../../src/controller/controller.ts";
import { conditionOf, eventually, KubeEnv, type ConfigStatus, type StatusEntry } from "../support/kube-env.ts";
import { startController } from "../support/in-process-controller.ts";
import { OcspRig } from "../support/ocsp-rig.ts";
import { sumSeries } from "../support/prometheus-text.ts";

const NS = "default";
const CRL = { tier: "crl" };
const MUST = { tier: "must" };

interface Entry extends StatusEntry { readonly notice?: { code: string; message: string }; readonly mustStaple?: boolean }
interface Status extends ConfigStatus { readonly noResponder?: number; readonly mustStapleUnstapled?: number; readonly secrets?: Entry[] }

void describe("the end of public OCSP: certificates without a responder, must-staple", { timeout: 10 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;
  const scrape = () => controller.metrics.registry.metrics();
  const fetches = async () => sumSeries(await scrape(), "ocsp_stapler_fetch_total");
  const statusOf = async (config: string) => (await env.statusOf(config)) as Status | undefined;

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("ocsp-end");
    await env.applyConfig("crl", { secretSelector: { matchLabels: CRL } });
    await env.applyConfig("must", { secretSelector: { matchLabels: MUST } });
    controller = await startController(env, rig.transport, { random: () => 0.5 });
  });
  after(async () => {
    await controller.stop();
    await rig.stop();
    await env.stop();
  });

  void it("a certificate whose CA names no responder: reported with the hint, counted, an Event and a gauge; not failing, not Degraded, never fetched for", async () => {
    const fetchesBefore = await fetches();
    await env.createTls("stapled-tls", await rig.leaf("stapled"), rig.ca, CRL);
    await env.createTls("crl-only-tls", await rig.ca.issue({ commonName: "crl-only.example" }), rig.ca, CRL);
    const status = await eventually("both Secrets looked at", async () => {
      const candidate = await statusOf("crl");
      return candidate?.stapled === 1 && candidate.noResponder === 1 ? candidate : undefined;
    }, 60);
    assert.deepEqual([status.selected, status.stapled, status.failing, status.noResponder, status.mustStapleUnstapled], [2, 1, 0, 1, undefined]);
    assert.deepEqual([conditionOf(status, "Ready")?.status, conditionOf(status, "Degraded")?.status, conditionOf(status, "Degraded")?.reason], ["True", "False", "AsExpected"]);
    const entry = status.secrets?.find((candidate) => candidate.name === "crl-only-tls");
    assert.equal(entry?.error, undefined, "not an error");
    assert.equal(entry?.notice?.code, "NoResponderURL");
    assert.match(entry.notice.message, /revocation is CRL-only .*expected, as the certificate is not must-staple/);
    await eventually("a NoResponderURL Event", async () => ((await env.eventReasons("Secret", "crl-only-tls")).includes("NoResponderURL") ? true : undefined));
    assert.equal(sumSeries(await scrape(), "ocsp_stapler_certificates_without_responder", { namespace: NS, config: `${NS}/crl` }), 1);
    // Looked at again (any change of the Secret): still nothing fetched, no second Event.
    const looked = ["crl-only-tls", "stapled-tls"].map((name) => [name, controller.secretStates.get(`${NS}/${name}`)] as const);
    await env.touch("crl-only-tls");
    await env.touch("stapled-tls");
    // A reconcile leaves a new state object: both Secrets have been looked at again, then nothing is left to do.
    await eventually("both touched Secrets reconciled", () => Promise.resolve(looked.every(([name, state]) => controller.secretStates.get(`${NS}/${name}`) !== state) ? true : undefined));
    await controller.whenIdle();
    assert.equal(await fetches(), fetchesBefore + 1, "only the Secret with a responder was fetched for");
    assert.deepEqual((await env.eventReasons("Secret", "crl-only-tls")).filter((reason) => reason === "NoResponderURL"), ["NoResponderURL"]);
    assert.equal(await env.readSecret("crl-only-tls-ocsp"), undefined);
  });

  void it("must-staple certificates that cannot be stapled (no responder; a responder that does not know them): MustStapleUnstapled, counted, flagged, a Warning Event each and the gauge", async () => {
    await env.createTls("must-crl-tls", await rig.ca.issue({ commonName: "must-crl.example", mustStaple: true }), rig.ca, MUST);
    await env.createTls("must-unknown-tls", await rig.leaf("must-unknown", "unknown", { mustStaple: true }), rig.ca, MUST);
    await env.createTls("must-good-tls", await rig.leaf("must-good", "good", { mustStaple: true }), rig.ca, MUST);
    const status = await eventually("the must-staple Secrets looked at", async () => {
      const candidate = await statusOf("must");
      return candidate?.mustStapleUnstapled === 2 && candidate.stapled === 1 ? candidate : undefined;
    }, 60);
    assert.deepEqual([status.selected, status.stapled, status.failing, status.noResponder], [3, 1, 2, 1]);
    assert.deepEqual([conditionOf(status, "Degraded")?.status, conditionOf(status, "Degraded")?.reason], ["True", "MustStapleUnstapled"]);
    assert.equal(conditionOf(status, "Ready")?.reason, "MustStapleUnstapled");
    const byName = new Map((status.secrets ?? []).map((entry) => [entry.name, entry]));
    assert.deepEqual([byName.get("must-crl-tls")?.mustStaple, byName.get("must-crl-tls")?.error?.code], [true, "NoResponderURL"]);
    assert.match(byName.get("must-crl-tls")?.error?.message ?? "", /must-staple, so browsers that enforce must-staple refuse it/);
    assert.deepEqual([byName.get("must-unknown-tls")?.mustStaple, byName.get("must-unknown-tls")?.error?.code], [true, "CertStatusUnknown"]);
    assert.deepEqual([byName.get("must-good-tls")?.mustStaple, byName.get("must-good-tls")?.error, byName.get("must-good-tls")?.staple], [true, undefined, "must-good-tls-ocsp"]);
    for (const name of ["must-crl-tls", "must-unknown-tls"]) {
      await eventually(`a MustStapleUnstapled Event for ${name}`, async () => ((await env.eventReasons("Secret", name)).includes("MustStapleUnstapled") ? true : undefined));
    }
    assert.equal((await env.eventReasons("Secret", "must-good-tls")).includes("MustStapleUnstapled"), false);
    const text = await scrape();
    for (const secret of ["must-crl-tls", "must-unknown-tls"]) assert.equal(sumSeries(text, "ocsp_stapler_must_staple_unstapled", { namespace: NS, secret, config: `${NS}/must` }), 1, secret);
    assert.equal(sumSeries(text, "ocsp_stapler_must_staple_unstapled", { secret: "must-good-tls" }), 0);
    assert.equal(sumSeries(text, "ocsp_stapler_certificates_without_responder", { namespace: NS, config: `${NS}/must` }), 1);
  });
});
