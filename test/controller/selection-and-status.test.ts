import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeStatus, statusChanged } from "../../src/controller/config-status.ts";
import { selectingConfigs } from "../../src/controller/ownership.ts";
import { selectorMatches, type LabelSelector } from "../../src/kube/label-selector.ts";
import { toStapleConfig } from "../../src/kube/staple-config.ts";
import { toTlsSecret } from "../../src/kube/tls-secret.ts";
import { vector } from "../support/vectors.ts";

const NOW = new Date("2026-11-25T12:00:00Z");

void describe("label selectors", () => {
  const labels = { app: "web", tier: "front" };
  const cases: [string, LabelSelector, boolean][] = [
    ["empty selects everything", {}, true],
    ["matchLabels, all present", { matchLabels: { app: "web", tier: "front" } }, true],
    ["matchLabels, one differs", { matchLabels: { app: "api" } }, false],
    ["In", { matchExpressions: [{ key: "tier", operator: "In", values: ["front", "back"] }] }, true],
    ["In, absent label", { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }, false],
    ["NotIn", { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["back"] }] }, true],
    ["NotIn, absent label matches", { matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }, true],
    ["Exists", { matchExpressions: [{ key: "app", operator: "Exists" }] }, true],
    ["DoesNotExist", { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] }, false],
    ["labels and expressions together", { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["back"] }] }, false],
  ];
  for (const [name, selector, expected] of cases) void it(name, () => { assert.equal(selectorMatches(selector, labels), expected); });
});

void describe("caching a TLS Secret", () => {
  void it("keeps tls.crt and ca.crt, and drops tls.key before anything stores it", () => {
    const cached = toTlsSecret({
      type: "kubernetes.io/tls",
      metadata: { namespace: "shop", name: "web-tls", uid: "u1", labels: { a: "b" }, creationTimestamp: "2026-01-01T00:00:00Z", resourceVersion: "7" },
      data: { "tls.crt": Buffer.from("CERT").toString("base64"), "tls.key": Buffer.from("-----BEGIN PRIVATE KEY-----").toString("base64"), "ca.crt": Buffer.from("CA").toString("base64") },
    });
    assert.deepEqual(
      { ...cached, chain: undefined, caBundle: undefined },
      { namespace: "shop", name: "web-tls", uid: "u1", labels: { a: "b" }, creationTimestamp: "2026-01-01T00:00:00Z", chain: undefined, caBundle: undefined, dataKeys: ["tls.crt", "tls.key", "ca.crt"], immutable: false, resourceVersion: "7" },
    );
    // Not PEM certificates: nothing the engine could read, so nothing kept (it reports BadCertificate, as for the text).
    assert.deepEqual([cached?.chain.pem, cached?.caBundle?.pem], ["", ""]);
    // Only its name, in dataKeys: never the key itself, decoded or base64 ("LS0tLS1CRUdJTi" is "-----BEGIN").
    assert.doesNotMatch(JSON.stringify(cached), /PRIVATE|LS0tLS1CRUdJTi/);
  });

  void it("keeps an InPlace staple: only keys its annotation lists that hold an OCSP response, never tls.key nor other data", () => {
    const staple = Buffer.from(vector("botan/resp2.der")).toString("base64");
    const pkcs8 = Buffer.from("-----BEGIN PRIVATE KEY-----").toString("base64");
    const cached = toTlsSecret({
      type: "kubernetes.io/tls",
      metadata: { namespace: "shop", name: "web-tls", uid: "u1", annotations: { "ocsp-stapler.io/staple-keys": "tls.ocsp-staple,tls.key,key.der,gone", "ocsp-stapler.io/cert-sha256": "abc", "other/annotation": "x" } },
      data: { "tls.crt": "", "tls.key": pkcs8, "key.der": pkcs8, "tls.ocsp-staple": staple, "unrelated": "eA==" },
    });
    assert.deepEqual(cached?.inPlace, { keys: ["tls.ocsp-staple", "gone"], data: { "tls.ocsp-staple": staple }, certificateSha256: "abc", annotations: { "ocsp-stapler.io/cert-sha256": "abc", "ocsp-stapler.io/staple-keys": "tls.ocsp-staple,tls.key,key.der,gone" } });
    assert.doesNotMatch(JSON.stringify(cached), /PRIVATE|LS0tLS1CRUdJTi|eA==/);
  });

  void it("keeps a chain: Full bundle it lists (PEM blocks of OCSP responses) as ours, and no other PEM", () => {
    const der = vector("botan/resp2.der");
    const block = `-----BEGIN OCSP RESPONSE-----\n${Buffer.from(der).toString("base64")}\n-----END OCSP RESPONSE-----\n`;
    const bundle = Buffer.from(block + block).toString("base64");
    const notOcsp = Buffer.from("-----BEGIN OCSP RESPONSE-----\neA==\n-----END OCSP RESPONSE-----\n").toString("base64");
    const cached = toTlsSecret({
      type: "kubernetes.io/tls",
      metadata: { namespace: "shop", name: "web-tls", uid: "u1", annotations: { "ocsp-stapler.io/staple-keys": "tls.ocsp-staple,tls.ocsp-staple.pem,other.pem" } },
      data: { "tls.crt": "", "tls.ocsp-staple": Buffer.from(der).toString("base64"), "tls.ocsp-staple.pem": bundle, "other.pem": notOcsp },
    });
    assert.deepEqual(cached?.inPlace?.keys, ["tls.ocsp-staple", "tls.ocsp-staple.pem"]);
    assert.equal(cached.inPlace.data["tls.ocsp-staple.pem"], bundle);
  });

  void it("ignores Secrets of other types", () => {
    assert.equal(toTlsSecret({ type: "Opaque", metadata: { namespace: "a", name: "b", uid: "c" } }), undefined);
  });
});

void describe("ownership", () => {
  const config = (name: string, created: string, selector: LabelSelector = {}) => {
    const parsed = toStapleConfig({ metadata: { namespace: "shop", name, uid: name, creationTimestamp: created }, spec: { secretSelector: selector } });
    assert.ok(parsed);
    return parsed;
  };
  const secret = toTlsSecret({ type: "kubernetes.io/tls", metadata: { namespace: "shop", name: "web-tls", uid: "u", labels: { app: "web" } }, data: {} });

  void it("the oldest selecting config owns a Secret, then by name", () => {
    assert.ok(secret);
    const owners = selectingConfigs([config("b", "2026-02-01T00:00:00Z"), config("a", "2026-02-01T00:00:00Z"), config("old", "2026-01-01T00:00:00Z"), config("other", "2025-01-01T00:00:00Z", { matchLabels: { app: "api" } })], secret);
    assert.deepEqual(owners.map((owner) => owner.name), ["old", "a", "b"]);
  });
});

void describe("StapleConfig status", () => {
  void it("all stapled: Ready True, Degraded False, counts and the earliest refresh", () => {
    const status = computeStatus(3, [
      { config: "shop/web", name: "a", staple: "a-ocsp", certStatus: "Good", failures: 0, nextCheckAtMs: Date.parse("2026-11-26T00:00:00Z") },
      { config: "shop/web", name: "b", staple: "b-ocsp", certStatus: "Revoked", failures: 0, nextCheckAtMs: Date.parse("2026-11-25T18:00:00Z") },
    ], [], undefined, NOW);
    assert.deepEqual([status.selected, status.stapled, status.revoked, status.failing, status.nextRefresh], [2, 2, 1, 0, "2026-11-25T18:00:00Z"]);
    assert.deepEqual(status.conditions.map((c) => [c.type, c.status, c.reason, c.observedGeneration]), [["Ready", "True", "AllStapled", 3], ["Degraded", "False", "AsExpected", 3]]);
  });

  void it("failing Secrets come first, with their codes as the condition reasons", () => {
    const status = computeStatus(1, [
      { config: "shop/web", name: "a", staple: "a-ocsp", failures: 0 },
      { config: "shop/web", name: "z", failures: 2, error: { code: "ResponderTimeout", message: "slow" } },
    ], ["c"], undefined, NOW);
    assert.deepEqual(status.secrets.map((entry) => entry.name), ["c", "z", "a"]);
    assert.deepEqual(status.conditions.map((c) => [c.type, c.status, c.reason]), [["Ready", "False", "ResponderTimeout"], ["Degraded", "True", "ResponderTimeout"]]);
  });

  void it("chain: Full: each entry lists its intermediates; a revoked one makes Degraded True, named, while Ready stays True", () => {
    const status = computeStatus(1, [
      { config: "shop/web", name: "a", staple: "a-ocsp", certStatus: "Good", failures: 0, chain: [
        { subject: "CN=Int A", serial: "1f", certStatus: "Revoked", nextUpdateMs: Date.parse("2026-11-26T00:00:00Z"), failures: 0, checkAtMs: 0 },
        { subject: "CN=Int B", serial: "2f", error: { code: "NoResponderURL", message: "no OCSP URL" }, failures: 1, checkAtMs: 0 },
      ] },
    ], [], undefined, NOW);
    assert.deepEqual(status.secrets[0]?.chain, [
      { subject: "CN=Int A", serial: "1f", certStatus: "Revoked", nextUpdate: "2026-11-26T00:00:00Z" },
      { subject: "CN=Int B", serial: "2f", error: { code: "NoResponderURL", message: "no OCSP URL" } },
    ]);
    assert.deepEqual(status.conditions.map((c) => [c.type, c.status, c.reason]), [["Ready", "True", "AllStapled"], ["Degraded", "True", "Revoked"]]);
    assert.match(status.conditions[1]?.message ?? "", /intermediate "CN=Int A" \(serial 1f\) of Secret a is revoked/);
    assert.equal(status.failing, 0);
  });

  void it("chain: Full: a chain refused as a whole is listed as the entry's chainError and makes Degraded True, named", () => {
    const status = computeStatus(1, [
      { config: "shop/web", name: "a", staple: "a-ocsp", certStatus: "Good", failures: 0, chainError: { code: "BadCertificate", message: "the chain holds \"CN=Int\" twice" } },
    ], [], undefined, NOW);
    assert.deepEqual(status.secrets[0]?.chainError, { code: "BadCertificate", message: "the chain holds \"CN=Int\" twice" });
    assert.deepEqual(status.conditions.map((c) => [c.type, c.status, c.reason]), [["Ready", "True", "AllStapled"], ["Degraded", "True", "BadCertificate"]]);
    assert.match(status.conditions[1]?.message ?? "", /the chain of Secret a was refused: the chain holds "CN=Int" twice/);
  });

  void it("chain: Full: the entry's and the config's nextRefresh are the earliest of the leaf's and its intermediates' schedules", () => {
    const status = computeStatus(1, [
      { config: "shop/web", name: "a", staple: "a-ocsp", certStatus: "Good", failures: 0, nextCheckAtMs: Date.parse("2026-11-28T00:00:00Z"), chain: [
        { subject: "CN=Int A", serial: "1f", error: { code: "ResponderUnreachable", message: "down" }, failures: 1, checkAtMs: Date.parse("2026-11-25T12:00:10Z") },
      ] },
    ], [], undefined, NOW);
    assert.equal(status.secrets[0]?.nextRefresh, "2026-11-25T12:00:10Z");
    assert.equal(status.nextRefresh, "2026-11-25T12:00:10Z");
  });

  void it("chain: Leaf entries carry no chain, and the conditions are as before", () => {
    const status = computeStatus(1, [{ config: "shop/web", name: "a", staple: "a-ocsp", certStatus: "Good", failures: 0 }], [], undefined, NOW);
    assert.equal("chain" in (status.secrets[0] ?? {}), false);
    assert.deepEqual(status.conditions.map((c) => [c.type, c.status, c.reason]), [["Ready", "True", "AllStapled"], ["Degraded", "False", "AsExpected"]]);
  });

  void it("lists at most 50 Secrets: the failing first, then by name, from any order", () => {
    const names = Array.from({ length: 500 }, (_, i) => `s${String((i * 7919) % 500).padStart(3, "0")}`);
    const states = names.map((name) => ({ config: "shop/web", name, failures: 0, ...(name.endsWith("7") ? { error: { code: "Expired" as const, message: "x" } } : {}) }));
    const listed = computeStatus(1, states, ["c"], undefined, NOW).secrets.map((entry) => entry.name);
    const failing = ["c", ...names.filter((name) => name.endsWith("7"))].sort((a, b) => a.localeCompare(b));
    assert.deepEqual(listed, failing.slice(0, 50));
    const fewFailing = computeStatus(1, states.slice(0, 60).map((state) => ({ config: state.config, name: state.name, failures: 0 })), [], undefined, NOW).secrets.map((entry) => entry.name);
    assert.deepEqual(fewFailing, names.slice(0, 60).sort((a, b) => a.localeCompare(b)).slice(0, 50));
  });

  void it("lastTransitionTime moves only when a condition flips, so an unchanged status is not rewritten", () => {
    const first = computeStatus(1, [{ config: "shop/web", name: "a", staple: "a-ocsp", failures: 0 }], [], undefined, NOW);
    const later = computeStatus(1, [{ config: "shop/web", name: "a", staple: "a-ocsp", failures: 0 }], [], first, new Date("2026-11-25T13:00:00Z"));
    assert.equal(later.conditions[0]?.lastTransitionTime, "2026-11-25T12:00:00Z");
    assert.equal(statusChanged(later, JSON.parse(JSON.stringify(first)) as unknown), false);
    const flipped = computeStatus(1, [{ config: "shop/web", name: "a", failures: 1, error: { code: "Expired", message: "x" } }], [], first, new Date("2026-11-25T14:00:00Z"));
    assert.equal(flipped.conditions[0]?.lastTransitionTime, "2026-11-25T14:00:00Z");
    assert.equal(statusChanged(flipped, first), true);
  });
});
