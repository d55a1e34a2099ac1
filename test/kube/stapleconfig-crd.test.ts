// The StapleConfig CRD on a real kube-apiserver, driven with the real kubectl:
// defaults, validation (every bad spec refused by the API server itself, with a
// message a user can act on), `kubectl explain`, and the printer columns.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { startControlPlane, type ControlPlane } from "../control-plane/control-plane.ts";
import { kubectl } from "../support/kube-tools.ts";

const CRD = fileURLToPath(new URL("../../crds/stapleconfigs.ocsp-stapler.io.yaml", import.meta.url));

function stapleConfig(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: "ocsp-stapler.io/v1alpha1", kind: "StapleConfig", metadata: { name, namespace: "default" }, spec });
}

void describe("the StapleConfig CRD on a real API server", { timeout: 50 * 60_000 }, () => {
  let plane: ControlPlane;
  const k = (args: string[], input?: string) => kubectl(plane.kubeconfigPath, args, input);

  before(async () => {
    plane = await startControlPlane();
    await k(["apply", "-f", CRD]);
    await k(["wait", "--for=condition=Established", "--timeout=60s", "crd/stapleconfigs.ocsp-stapler.io"]);
  });
  after(async () => { await plane.stop(); });

  void it("an empty spec gets every default from DESIGN.md", async () => {
    await k(["apply", "-f", "-"], stapleConfig("defaults", {}));
    const stored = JSON.parse(await k(["get", "stapleconfig", "defaults", "-o", "json"])) as { spec: unknown };
    assert.deepEqual(stored.spec, {
      secretSelector: {},
      target: { mode: "Companion", nameSuffix: "-ocsp", keys: ["tls.ocsp"], consumer: "Auto" },
      refresh: { fraction: 0.5, minInterval: "5m", retry: { initial: "10s", max: "30m" } },
      responder: { urlOverride: "", timeout: "10s", method: "Auto" },
      chain: "Leaf",
    });
  });

  void it("a full, valid spec is accepted as written", async () => {
    const spec = {
      secretSelector: { matchLabels: { "ocsp-stapler.io/staple": "true" }, matchExpressions: [{ key: "tier", operator: "In", values: ["web"] }] },
      target: { mode: "InPlace", nameSuffix: "-ocsp", keys: ["tls.ocsp-staple", "ocsp.staple"], labels: { team: "web" }, annotations: {}, consumer: "Envoy" },
      refresh: { fraction: 0.25, minInterval: "1h30m", retry: { initial: "2s", max: "1h" } },
      responder: { urlOverride: "http://ocsp.example.com/", timeout: "5s", method: "POST" },
      chain: "Full",
    };
    await k(["apply", "-f", "-"], stapleConfig("full", spec));
    const stored = JSON.parse(await k(["get", "stapleconfig", "full", "-o", "json"])) as { spec: unknown };
    assert.deepEqual(stored.spec, spec);
  });

  void it("spec.probe: endpoints as written (one address with two names; IPv6), the rest defaulted", async () => {
    const endpoints = [{ address: "ingress.web.svc:443", serverName: "shop.example", secret: "shop-tls" }, { address: "ingress.web.svc:443", serverName: "api.example" }, { address: "[fd00::1]:8443" }];
    await k(["apply", "-f", "-"], stapleConfig("probed", { probe: { endpoints } }));
    const stored = JSON.parse(await k(["get", "stapleconfig", "probed", "-o", "json"])) as { spec: { probe: unknown } };
    assert.deepEqual(stored.spec.probe, { endpoints, interval: "1m", timeout: "10s", propagationGrace: "5m", discover: false });
  });

  void it("keys that look derived are accepted where chain: Full does not write them", async () => {
    // Leaf writes no derived key; with Full, ".9" and a later key's ".pem" are not derived.
    await k(["apply", "-f", "-"], stapleConfig("leaf-dotted", { chain: "Leaf", target: { keys: ["tls.ocsp", "tls.ocsp.1", "tls.ocsp.pem"] } }));
    await k(["apply", "-f", "-"], stapleConfig("full-dotted", { chain: "Full", target: { keys: ["tls.ocsp", "tls.ocsp.9", "ocsp.staple", "ocsp.staple.pem"] } }));
  });

  void it("turning chain: Full on is refused while a key collides", async () => {
    await k(["apply", "-f", "-"], stapleConfig("leaf-then-full", { chain: "Leaf", target: { keys: ["tls.ocsp", "tls.ocsp.2"] } }));
    await assert.rejects(k(["apply", "-f", "-"], stapleConfig("leaf-then-full", { chain: "Full", target: { keys: ["tls.ocsp", "tls.ocsp.2"] } })), /target key tls.ocsp.2 would be overwritten/);
  });

  const INVALID: [string, Record<string, unknown>, RegExp][] = [
    ["a fraction of 1", { refresh: { fraction: 1 } }, /fraction.*should be less than 1/],
    ["a fraction of 0", { refresh: { fraction: 0 } }, /fraction.*should be greater than 0/],
    ["an unknown mode", { target: { mode: "Sidecar" } }, /mode.*Unsupported value: "Sidecar"/],
    ["an unknown method", { responder: { method: "PUT" } }, /method.*Unsupported value: "PUT"/],
    ["an unknown chain", { chain: "All" }, /chain.*Unsupported value: "All"/],
    ["an unknown consumer", { target: { consumer: "Apache" } }, /consumer.*Unsupported value: "Apache"/],
    ["a duration in words", { refresh: { minInterval: "5 minutes" } }, /minInterval.*should match/],
    ["a minInterval under a minute", { refresh: { minInterval: "10s" } }, /minInterval must be at least 1m/],
    ["retry.initial above retry.max", { refresh: { retry: { initial: "1h", max: "1m" } } }, /retry.initial must not exceed retry.max/],
    ["a timeout over 60s", { responder: { timeout: "5m" } }, /timeout must be between 1s and 60s/],
    ["an ftp responder", { responder: { urlOverride: "ftp://ocsp.example.com/" } }, /urlOverride.*should match/],
    ["the staple written over tls.key", { target: { keys: ["tls.key"] } }, /may not be written over tls.crt, tls.key or ca.crt/],
    ["no keys at all", { target: { keys: [] } }, /keys.*should have at least 1 items/],
    ["an empty suffix in Companion mode", { target: { mode: "Companion", nameSuffix: "" } }, /Companion mode needs a non-empty nameSuffix/],
    ["In without values", { secretSelector: { matchExpressions: [{ key: "tier", operator: "In" }] } }, /In and NotIn need values/],
    ["an intermediate's key among the keys with chain: Full", { chain: "Full", target: { keys: ["tls.ocsp", "tls.ocsp.1"] } }, /target.keys.*target key tls.ocsp.1 would be overwritten/],
    ["the bundle's key among the keys with chain: Full", { chain: "Full", target: { keys: ["tls.ocsp-staple", "ocsp.staple", "tls.ocsp-staple.pem"] } }, /the bundle tls.ocsp-staple.pem, so target key tls.ocsp-staple.pem would be overwritten/],
    ["several derived keys among the keys with chain: Full", { chain: "Full", target: { keys: ["a.8", "a", "b", "b.2"] } }, /target key a.8 would be overwritten/],
    ["an unknown field", { refresh: { fraction: 0.5, every: "1h" } }, /unknown field "spec.refresh.every"/],
    ["a probe address without a port", { probe: { endpoints: [{ address: "shop.example" }] } }, /address.*should match/],
    ["a probe address with a path", { probe: { endpoints: [{ address: "shop.example:443/x" }] } }, /address.*should match/],
    ["the same probe endpoint twice", { probe: { endpoints: [{ address: "a:443", serverName: "x" }, { address: "a:443", serverName: "x" }] } }, /each address and serverName pair may appear once/],
    ["51 probe endpoints", { probe: { endpoints: Array.from({ length: 51 }, (_, index) => ({ address: `e${String(index)}:443` })) } }, /endpoints.*must have at most 50 items|should have at most 50 items|Too many/],
    ["a probe interval under a second", { probe: { interval: "500ms" } }, /probe.interval must be at least 1s/],
    ["a probe timeout over 60s", { probe: { timeout: "2m" } }, /probe.timeout must be between 1s and 60s/],
    ["a discoverAddress without a port", { probe: { discover: true, discoverAddress: "ingress.example" } }, /discoverAddress.*should match/],
  ];
  for (const [name, spec, message] of INVALID) {
    void it(`refuses ${name}`, async () => {
      await assert.rejects(k(["apply", "--validate=strict", "-f", "-"], stapleConfig(`bad-${INVALID.findIndex((row) => row[0] === name)}`, spec)), message);
    });
  }

  void it("kubectl explain describes the fields", async () => {
    const explained = await k(["explain", "stapleconfig.spec.refresh.fraction"]);
    assert.match(explained, /share of the staple's validity/);
  });

  void it("kubectl get shows Ready, Selected, Stapled, Failing and Next-Refresh from the status subresource", async () => {
    await k(["apply", "-f", "-"], stapleConfig("web", {}));
    const status = {
      status: {
        observedGeneration: 1, selected: 4, stapled: 3, revoked: 0, failing: 1, nextRefresh: "2026-11-25T03:10:00Z",
        conditions: [{ type: "Ready", status: "False", reason: "ResponderTimeout", message: "1 of 4 Secrets has no staple", lastTransitionTime: "2026-11-25T01:00:00Z", observedGeneration: 1 }],
        secrets: [{ name: "api-tls", error: { code: "ResponderTimeout", message: "no complete response within 10000 ms" } }],
      },
    };
    await k(["patch", "stapleconfig", "web", "--subresource=status", "--type=merge", "-p", JSON.stringify(status)]);
    const table = await k(["get", "stapleconfig", "web"]);
    const [header, row] = table.trim().split("\n");
    assert.match(header ?? "", /^NAME\s+READY\s+SELECTED\s+STAPLED\s+FAILING\s+NEXT-REFRESH\s+AGE$/);
    assert.match(row ?? "", /^web\s+False\s+4\s+3\s+1\s+2026-11-25T03:10:00Z\s+\d+s$/);
    const served = { type: "Served", status: "False", reason: "OldStaple", message: "1 of 2 endpoints serve the current staple", lastTransitionTime: "2026-11-25T01:00:00Z", observedGeneration: 1 };
    await k(["patch", "stapleconfig", "web", "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { conditions: [...status.status.conditions, served] } })]);
    const [wideHeader, wideRow] = (await k(["get", "stapleconfig", "web", "-o", "wide"])).trim().split("\n");
    assert.match(wideHeader ?? "", /^NAME\s+READY\s+SELECTED\s+STAPLED\s+FAILING\s+NEXT-REFRESH\s+SERVED\s+AGE$/, "-o wide adds the Served condition");
    assert.match(wideRow ?? "", /^web\s+False\s+4\s+3\s+1\s+2026-11-25T03:10:00Z\s+False\s+\d+s$/);
  });

  void it("the status cannot be written through the main resource", async () => {
    await k(["patch", "stapleconfig", "defaults", "--type=merge", "-p", JSON.stringify({ status: { selected: 99 } })]);
    const stored = JSON.parse(await k(["get", "stapleconfig", "defaults", "-o", "json"])) as { status?: { selected?: number } };
    assert.equal(stored.status?.selected, undefined);
  });
});
