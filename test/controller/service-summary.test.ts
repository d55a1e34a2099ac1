// What the cache keeps of a Service for endpoint discovery (src/kube/service-summary.ts):
// only Services some Gateway implementation created for a Gateway, with the Gateway and the ports.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toServiceSummary, trimService } from "../../src/kube/service-summary.ts";

function service(namespace: string, labels: Record<string, string> | undefined, ports: unknown[] = [{ name: "https", port: 443, targetPort: 8443 }]): unknown {
  return {
    apiVersion: "v1", kind: "Service",
    metadata: { name: "gw-svc", namespace, ...(labels === undefined ? {} : { labels }), managedFields: [{ manager: "istio" }] },
    spec: { type: "LoadBalancer", clusterIP: "10.96.0.20", selector: { app: "gw" }, ports },
    status: { loadBalancer: { ingress: [{ ip: "198.51.100.7" }] } },
  };
}

const cases: [string, unknown, unknown][] = [
  ["GEP-1762's label: the Gateway of that name in the Service's namespace (Istio, kgateway, NGINX Gateway Fabric)",
    service("shop", { "gateway.networking.k8s.io/gateway-name": "gw", "app.kubernetes.io/name": "gw-istio" }, [{ name: "status", port: 15021 }, { name: "https", port: 443 }]),
    { namespace: "shop", name: "gw-svc", gateway: { namespace: "shop", name: "gw" }, ports: [15021, 443] }],
  ["Envoy Gateway's labels: the Gateway's namespace from owning-gateway-namespace",
    service("envoy-gateway-system", { "gateway.envoyproxy.io/owning-gateway-name": "gw", "gateway.envoyproxy.io/owning-gateway-namespace": "shop" }),
    { namespace: "envoy-gateway-system", name: "gw-svc", gateway: { namespace: "shop", name: "gw" }, ports: [443] }],
  ["Envoy Gateway's name label alone (Gateway namespace mode): the Service's namespace",
    service("shop", { "gateway.envoyproxy.io/owning-gateway-name": "gw" }),
    { namespace: "shop", name: "gw-svc", gateway: { namespace: "shop", name: "gw" }, ports: [443] }],
  ["both labels: the standard one",
    service("shop", { "gateway.networking.k8s.io/gateway-name": "gw", "gateway.envoyproxy.io/owning-gateway-name": "other" }),
    { namespace: "shop", name: "gw-svc", gateway: { namespace: "shop", name: "gw" }, ports: [443] }],
  ["ports that are no port numbers are dropped",
    service("shop", { "gateway.networking.k8s.io/gateway-name": "gw" }, [{ port: 0 }, { port: "443" }, null, { port: 8443 }]),
    { namespace: "shop", name: "gw-svc", gateway: { namespace: "shop", name: "gw" }, ports: [8443] }],
  ["a Service of no Gateway is not cached", service("shop", { app: "web" }), undefined],
  ["an empty gateway-name label is none", service("shop", { "gateway.networking.k8s.io/gateway-name": "" }), undefined],
  ["a Service without labels is not cached", service("shop", undefined), undefined],
];

void describe("Service summary", () => {
  for (const [name, raw, expected] of cases) {
    void it(name, () => {
      assert.deepEqual(toServiceSummary(raw), expected);
      assert.deepEqual(toServiceSummary(trimService(raw)), expected, "the same from a trimmed LIST item");
    });
  }

  void it("the trim keeps only the Gateway labels and the port numbers", () => {
    const trimmed = trimService(service("shop", { "gateway.networking.k8s.io/gateway-name": "gw", "app.kubernetes.io/name": "gw-istio" }));
    assert.deepEqual(trimmed, { metadata: { namespace: "shop", name: "gw-svc", labels: { "gateway.networking.k8s.io/gateway-name": "gw" } }, spec: { ports: [{ port: 443 }] } });
  });
});
