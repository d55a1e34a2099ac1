// The end of public OCSP (README, "When your CA turns OCSP off"): how a StapleConfig's status
// and the metrics report certificates whose CA names no responder, and must-staple
// certificates without a staple.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeStatus } from "../../src/controller/config-status.ts";
import { Metrics, type StapleSample } from "../../src/observe/metrics.ts";
import type { SecretState } from "../../src/staple/secret-state.ts";

const NOW = new Date("2026-11-25T12:00:00Z");
const stapled = (name: string, fields: Partial<SecretState> = {}): SecretState => ({ config: "shop/web", name, staple: `${name}-ocsp`, certStatus: "Good", failures: 0, ...fields });
const crlOnly = (name: string): SecretState => ({ config: "shop/web", name, failures: 0, noResponder: true, notice: { code: "NoResponderURL", message: "CRL-only" } });
const conditions = (status: ReturnType<typeof computeStatus>) => status.conditions.map((c) => [c.type, c.status, c.reason]);

void describe("StapleConfig status: certificates without a responder, must-staple", () => {
  void it("a certificate whose CA names no responder (not must-staple) is counted and listed with its notice, but neither failing nor keeping the config from Ready", () => {
    const status = computeStatus(1, [stapled("a"), crlOnly("b")], [], undefined, NOW);
    assert.deepEqual([status.selected, status.stapled, status.failing, status.noResponder, status.mustStapleUnstapled], [2, 1, 0, 1, undefined]);
    assert.deepEqual(conditions(status), [["Ready", "True", "AllStapled"], ["Degraded", "False", "AsExpected"]]);
    assert.match(status.conditions[0]?.message ?? "", /1 of 2 selected Secrets have a verified staple; 1 name no OCSP responder \(CRL-only: nothing to staple\)/);
    assert.deepEqual(status.secrets.find((entry) => entry.name === "b"), { name: "b", notice: { code: "NoResponderURL", message: "CRL-only" } });
  });

  void it("a fleet whose CA turned OCSP off entirely is Ready, not a wall of failures", () => {
    const status = computeStatus(1, ["a", "b", "c"].map(crlOnly), [], undefined, NOW);
    assert.deepEqual([status.failing, status.noResponder], [0, 3]);
    assert.deepEqual(conditions(status), [["Ready", "True", "AllStapled"], ["Degraded", "False", "AsExpected"]]);
  });

  void it("a must-staple certificate without a responder fails: MustStapleUnstapled is the reason of both conditions, counted, the entry flagged", () => {
    const mustStaple: SecretState = { config: "shop/web", name: "m", failures: 0, noResponder: true, mustStaple: true, error: { code: "NoResponderURL", message: "must-staple, CRL-only" } };
    const status = computeStatus(1, [stapled("a"), crlOnly("b"), mustStaple], [], undefined, NOW);
    assert.deepEqual([status.failing, status.noResponder, status.mustStapleUnstapled], [1, 2, 1]);
    assert.deepEqual(conditions(status), [["Ready", "False", "MustStapleUnstapled"], ["Degraded", "True", "MustStapleUnstapled"]]);
    assert.match(status.conditions[1]?.message ?? "", /^1 must-staple Secrets have no staple \(browsers that enforce must-staple refuse them\), first m; 1 Secrets failing/);
    assert.deepEqual(status.secrets[0], { name: "m", mustStaple: true, error: { code: "NoResponderURL", message: "must-staple, CRL-only" } });
  });

  void it("MustStapleUnstapled outranks another Secret's failure as the reason; a must-staple certificate whose failing refresh keeps a staple is not flagged", () => {
    const status = computeStatus(1, [
      stapled("a", { mustStaple: true, failures: 2, error: { code: "ResponderTimeout", message: "slow" } }),
      { config: "shop/web", name: "b", failures: 1, error: { code: "ResponderTimeout", message: "slow" } },
      { config: "shop/web", name: "c", failures: 1, mustStaple: true, error: { code: "ResponderUnreachable", message: "down" } },
    ], [], undefined, NOW);
    assert.deepEqual([status.failing, status.mustStapleUnstapled, status.noResponder], [3, 1, undefined]);
    assert.equal(status.conditions[1]?.reason, "MustStapleUnstapled");
    assert.deepEqual(status.secrets.map((entry) => [entry.name, entry.mustStaple]), [["a", true], ["b", undefined], ["c", true]]);
  });

  void it("no such certificate: the status has neither count, as before", () => {
    const status = computeStatus(1, [stapled("a", { mustStaple: true })], [], undefined, NOW);
    assert.equal("noResponder" in status, false);
    assert.equal("mustStapleUnstapled" in status, false);
    assert.deepEqual(conditions(status), [["Ready", "True", "AllStapled"], ["Degraded", "False", "AsExpected"]]);
  });
});

void describe("metrics: certificates without a responder, must-staple certificates without a staple", () => {
  void it("are computed at scrape time from the Secrets' states, so a Secret that changes leaves no stale series", async () => {
    let samples: StapleSample[] = [
      { namespace: "shop", secret: "a", config: "shop/web", certStatus: "none", noResponder: true },
      { namespace: "shop", secret: "b", config: "shop/web", certStatus: "none", noResponder: true, mustStapleUnstapled: true },
      { namespace: "shop", secret: "c", config: "shop/web", certStatus: "good" },
      { namespace: "blog", secret: "d", config: "blog/all", certStatus: "none", mustStapleUnstapled: true },
    ];
    const metrics = new Metrics({ queueDepth: () => 0, staples: () => samples });
    const text = await metrics.registry.metrics();
    assert.match(text, /^ocsp_stapler_certificates_without_responder\{namespace="shop",config="shop\/web"\} 2$/m);
    assert.doesNotMatch(text, /^ocsp_stapler_certificates_without_responder\{namespace="blog"/m);
    assert.match(text, /^ocsp_stapler_must_staple_unstapled\{namespace="shop",secret="b",config="shop\/web"\} 1$/m);
    assert.match(text, /^ocsp_stapler_must_staple_unstapled\{namespace="blog",secret="d",config="blog\/all"\} 1$/m);
    assert.doesNotMatch(text, /^ocsp_stapler_must_staple_unstapled\{[^}]*secret="[ac]"/m);
    samples = [{ namespace: "shop", secret: "b", config: "shop/web", certStatus: "good" }];
    const later = await metrics.registry.metrics();
    assert.doesNotMatch(later, /^ocsp_stapler_(certificates_without_responder|must_staple_unstapled)\{/m);
  });
});
