// What the cache keeps of a Gateway for endpoint discovery (src/kube/gateway-summary.ts):
// listeners with the API's defaults applied, and the status addresses.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toGatewaySummary, trimGateway } from "../../src/kube/gateway-summary.ts";

const SHOP_GATEWAY = {
  apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway",
  metadata: { name: "gw", namespace: "shop", creationTimestamp: "2026-11-01T00:00:00Z", managedFields: [{ manager: "kubectl" }], annotations: { note: "x" } },
  spec: {
    gatewayClassName: "istio",
    listeners: [
      { name: "http", port: 80, protocol: "HTTP", allowedRoutes: { namespaces: { from: "Same" } } },
      { name: "https", port: 443, protocol: "HTTPS", hostname: "shop.example.com", tls: { certificateRefs: [{ name: "web-tls" }, { group: "", kind: "Secret", name: "old-tls", namespace: "certs" }, { kind: "Secret" }] } },
      { name: "passthrough", port: 6443, protocol: "TLS", tls: { mode: "Passthrough" } },
      { name: "bad-port", port: 70_000, protocol: "HTTPS" },
      null,
    ],
  },
  status: {
    addresses: [{ type: "IPAddress", value: "198.51.100.7" }, { value: "198.51.100.8" }, { type: "Hostname", value: "" }],
    conditions: [{ type: "Programmed", status: "True" }],
    listeners: [{ name: "https", attachedRoutes: 3 }],
  },
};

const SUMMARY = {
  namespace: "shop", name: "gw", creationTimestamp: "2026-11-01T00:00:00Z",
  listeners: [
    { name: "http", port: 80, protocol: "HTTP", certificateRefs: [] },
    { name: "https", port: 443, protocol: "HTTPS", hostname: "shop.example.com", tlsMode: "Terminate", certificateRefs: [{ group: "", kind: "Secret", name: "web-tls" }, { group: "", kind: "Secret", name: "old-tls", namespace: "certs" }] },
    { name: "passthrough", port: 6443, protocol: "TLS", tlsMode: "Passthrough", certificateRefs: [] },
  ],
  addresses: [{ type: "IPAddress", value: "198.51.100.7" }, { type: "IPAddress", value: "198.51.100.8" }],
};

void describe("Gateway summary", () => {
  void it("keeps listeners with tls.mode, group and kind defaulted as the API defaults them, and the status addresses", () => {
    assert.deepEqual(toGatewaySummary(SHOP_GATEWAY), SUMMARY);
  });

  void it("reads a trimmed LIST item as the whole object, and the trim drops conditions, routes and managedFields", () => {
    const trimmed = trimGateway(SHOP_GATEWAY);
    assert.deepEqual(toGatewaySummary(trimmed), SUMMARY);
    const text = JSON.stringify(trimmed);
    for (const dropped of ["managedFields", "annotations", "conditions", "attachedRoutes", "allowedRoutes", "gatewayClassName"]) assert.ok(!text.includes(dropped), dropped);
  });

  void it("a Gateway without listeners or status, and objects that are no Gateway", () => {
    assert.deepEqual(toGatewaySummary({ metadata: { name: "gw", namespace: "shop" } }), { namespace: "shop", name: "gw", creationTimestamp: "", listeners: [], addresses: [] });
    assert.equal(toGatewaySummary({ metadata: { name: "gw" } }), undefined);
    assert.equal(toGatewaySummary(undefined), undefined);
  });
});
