// Where the caches of endpoint discovery list and watch (src/kube/discovery-sources.ts),
// and that a LIST item, trimmed, and a WATCH object give the same cached entry.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gatewaySource, ingressSource, serviceSource, type DiscoverySource } from "../../src/kube/discovery-sources.ts";

const OBJECTS: Record<string, unknown> = {
  ingresses: { metadata: { name: "web", namespace: "shop", managedFields: [{}] }, spec: { tls: [{ hosts: ["shop.example.com"], secretName: "web-tls" }] }, status: { loadBalancer: { ingress: [{ ip: "203.0.113.10" }] } } },
  gateways: { metadata: { name: "gw", namespace: "shop" }, spec: { listeners: [{ name: "https", port: 443, protocol: "HTTPS", tls: { certificateRefs: [{ name: "web-tls" }] } }] }, status: { addresses: [{ value: "198.51.100.7" }] } },
  services: { metadata: { name: "gw-istio", namespace: "shop", labels: { "gateway.networking.k8s.io/gateway-name": "gw" } }, spec: { ports: [{ port: 443 }] } },
};

/** One kind's checks: its paths, its key, and a trimmed LIST item cached as the object itself. */
function checks<T>(namespaced: DiscoverySource<T>, namespacedPath: string, all: DiscoverySource<T>, allPath: string): [string, () => void] {
  return [`${namespaced.kind}: ${namespacedPath} and ${allPath}, keyed namespace/name, a trimmed LIST item cached as the object`, () => {
    assert.equal(namespaced.path, namespacedPath);
    assert.equal(all.path, allPath);
    assert.deepEqual(namespaced.query, {});
    const raw = OBJECTS[namespaced.kind];
    const cached = namespaced.transform(raw);
    assert.ok(cached !== undefined);
    assert.deepEqual(namespaced.transform(namespaced.trim(raw)), cached);
    assert.equal(namespaced.keyOf(cached), `shop/${(raw as { metadata: { name: string } }).metadata.name}`);
  }];
}

const cases = [
  checks(ingressSource("shop"), "/apis/networking.k8s.io/v1/namespaces/shop/ingresses", ingressSource(undefined), "/apis/networking.k8s.io/v1/ingresses"),
  checks(gatewaySource("shop"), "/apis/gateway.networking.k8s.io/v1/namespaces/shop/gateways", gatewaySource(undefined), "/apis/gateway.networking.k8s.io/v1/gateways"),
  checks(serviceSource("shop"), "/api/v1/namespaces/shop/services", serviceSource(undefined), "/api/v1/services"),
];

void describe("discovery sources", () => {
  for (const [name, check] of cases) void it(name, check);
});
