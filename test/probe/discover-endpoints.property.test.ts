// Property tests of endpoint discovery: whatever Ingresses, Gateways and Services the caches
// hold, in whatever order, the endpoints are unique by address and server name, serve only
// selected Secrets, stay under the limit, and come out the same.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { GatewaySummary } from "../../src/kube/gateway-summary.ts";
import type { IngressSummary } from "../../src/kube/ingress-summary.ts";
import type { ServiceSummary } from "../../src/kube/service-summary.ts";
import { discoverEndpoints, type DiscoveryInput } from "../../src/probe/discover-endpoints.ts";

const SELECTED = new Set(["web-tls", "api-tls"]);
const namespace = fc.constantFrom("shop", "blog");
const name = fc.constantFrom("a", "b", "c", "d");
const secret = fc.constantFrom("web-tls", "api-tls", "other-tls");
const host = fc.constantFrom("shop.example.com", "www.example.com", "*.example.com", "api.example.com");
const ip = fc.constantFrom("203.0.113.10", "2001:db8::1", "fe80::1%eth0");

const ingress: fc.Arbitrary<IngressSummary> = fc.record({
  namespace, name, creationTimestamp: fc.constant(""),
  tls: fc.array(fc.record({ secretName: secret, hosts: fc.array(host, { maxLength: 3 }) }), { maxLength: 3 }),
  loadBalancer: fc.array(fc.oneof(fc.record({ ip }), fc.record({ hostname: fc.constant("lb.example.net") })), { maxLength: 2 }),
});

const gateway: fc.Arbitrary<GatewaySummary> = fc.record({
  namespace, name, creationTimestamp: fc.constant(""),
  listeners: fc.array(fc.record({
    name: fc.constantFrom("https", "tls", "alt"), port: fc.constantFrom(443, 8443), protocol: fc.constantFrom("HTTPS", "TLS", "HTTP"),
    hostname: host, tlsMode: fc.constantFrom("Terminate", "Passthrough"),
    certificateRefs: fc.array(fc.record({ group: fc.constantFrom("", "example.io"), kind: fc.constantFrom("Secret", "ConfigMap"), name: secret, namespace }, { requiredKeys: ["group", "kind", "name"] }), { maxLength: 2 }),
  }, { requiredKeys: ["name", "port", "protocol", "certificateRefs"] }), { maxLength: 3 }),
  addresses: fc.array(fc.record({ type: fc.constantFrom("IPAddress", "Hostname", "example.io/Other"), value: ip }), { maxLength: 2 }),
});

const service: fc.Arbitrary<ServiceSummary> = fc.record({
  namespace: fc.constantFrom("shop", "envoy-gateway-system"), name: fc.constantFrom("s1", "s2"),
  gateway: fc.record({ namespace, name }), ports: fc.array(fc.constantFrom(443, 8443), { maxLength: 2 }),
});

/** Unique by namespace/name, as a cache's values are. */
function uniqueByName<T extends { namespace: string; name: string }>(items: fc.Arbitrary<T>): fc.Arbitrary<T[]> {
  return fc.uniqueArray(items, { selector: (item) => `${item.namespace}/${item.name}`, maxLength: 6 });
}

const input: fc.Arbitrary<DiscoveryInput> = fc.record({
  namespace: fc.constant("shop"), selectedSecrets: fc.constant(SELECTED),
  ingresses: uniqueByName(ingress), gateways: uniqueByName(gateway), services: uniqueByName(service),
  address: fc.constantFrom("10.0.0.5:443", "ingress.example.net:443"), limit: fc.integer({ min: 0, max: 8 }),
}, { requiredKeys: ["namespace", "selectedSecrets", "ingresses", "gateways", "services"] });

void describe("endpoint discovery, whatever the caches hold", () => {
  void it("unique by address and server name, only selected Secrets, within the limit, well formed", () => {
    fc.assert(fc.property(input, (given) => {
      const { endpoints } = discoverEndpoints(given);
      const keys = endpoints.map((endpoint) => `${endpoint.address}/${endpoint.serverName ?? ""}`);
      assert.equal(new Set(keys).size, keys.length);
      assert.ok(endpoints.length <= (given.limit ?? 50));
      for (const endpoint of endpoints) {
        assert.ok(SELECTED.has(endpoint.secret), endpoint.secret);
        assert.match(endpoint.address, /^(\[[0-9a-fA-F:.]+\]|[-.a-zA-Z0-9]+):[0-9]{1,5}$/);
        assert.ok(!endpoint.serverName?.includes("*"), "a wildcard is never sent");
        assert.ok(endpoint.source.startsWith("Ingress shop/") || endpoint.source.startsWith("Gateway shop/"), endpoint.source);
        if (given.address !== undefined) assert.equal(endpoint.address, given.address);
      }
    }), { numRuns: 300 });
  });

  void it("the same answer whatever the caches' order", () => {
    fc.assert(fc.property(input, fc.integer(), (given, seed) => {
      const shuffled = <T>(items: Iterable<T>): T[] => [...items].map((item, index) => ({ item, key: (index * 7919 + seed) % 104_729 })).sort((a, b) => a.key - b.key).map(({ item }) => item);
      assert.deepEqual(discoverEndpoints({ ...given, ingresses: shuffled(given.ingresses), gateways: shuffled(given.gateways), services: shuffled(given.services) }), discoverEndpoints(given));
    }), { numRuns: 300 });
  });
});
