// What the cache keeps of an Ingress for endpoint discovery (src/kube/ingress-summary.ts):
// the tls entries and the load-balancer status, nothing else, from a LIST (trimmed first)
// or a WATCH event alike.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toIngressSummary, trimIngress } from "../../src/kube/ingress-summary.ts";

const SHOP_INGRESS = {
  apiVersion: "networking.k8s.io/v1", kind: "Ingress",
  metadata: {
    name: "web", namespace: "shop", uid: "1f0c", resourceVersion: "4711", creationTimestamp: "2026-11-01T00:00:00Z",
    annotations: { "nginx.ingress.kubernetes.io/ssl-redirect": "true", "kubectl.kubernetes.io/last-applied-configuration": "{…}" },
    managedFields: [{ manager: "kubectl", operation: "Apply", fieldsV1: { "f:spec": {} } }],
  },
  spec: {
    ingressClassName: "nginx",
    tls: [
      { hosts: ["shop.example.com", "*.shop.example.com"], secretName: "web-tls" },
      { hosts: ["default.example.com"] },
      { hosts: ["odd.example.com", 7, null], secretName: "odd-tls" },
      null,
    ],
    rules: [{ host: "shop.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } }],
  },
  status: { loadBalancer: { ingress: [{ ip: "203.0.113.10", ports: [{ port: 443, protocol: "TCP" }] }, { hostname: "a1b2.elb.amazonaws.com" }, {}] } },
};

const SUMMARY = {
  namespace: "shop", name: "web", creationTimestamp: "2026-11-01T00:00:00Z",
  tls: [{ secretName: "web-tls", hosts: ["shop.example.com", "*.shop.example.com"] }, { secretName: "odd-tls", hosts: ["odd.example.com"] }],
  loadBalancer: [{ ip: "203.0.113.10" }, { hostname: "a1b2.elb.amazonaws.com" }],
};

void describe("Ingress summary", () => {
  void it("keeps the tls entries that name a Secret and the load-balancer addresses", () => {
    assert.deepEqual(toIngressSummary(SHOP_INGRESS), SUMMARY);
  });

  void it("reads a trimmed LIST item as the whole object, and the trim drops rules, annotations and managedFields", () => {
    const trimmed = trimIngress(SHOP_INGRESS);
    assert.deepEqual(toIngressSummary(trimmed), SUMMARY);
    const text = JSON.stringify(trimmed);
    for (const dropped of ["managedFields", "annotations", "rules", "uid"]) assert.ok(!text.includes(dropped), dropped);
  });

  void it("a LIST's creationTimestamp (a Date) reads as the WATCH's string", () => {
    assert.equal(toIngressSummary({ ...SHOP_INGRESS, metadata: { ...SHOP_INGRESS.metadata, creationTimestamp: new Date("2026-11-01T00:00:00Z") } })?.creationTimestamp, "2026-11-01T00:00:00.000Z");
  });

  const partial: [string, unknown, unknown][] = [
    ["no tls and no status", { metadata: { name: "plain", namespace: "shop" }, spec: { rules: [] } }, { namespace: "shop", name: "plain", creationTimestamp: "", tls: [], loadBalancer: [] }],
    ["tls not an array", { metadata: { name: "odd", namespace: "shop" }, spec: { tls: { secretName: "x" } }, status: { loadBalancer: { ingress: "x" } } }, { namespace: "shop", name: "odd", creationTimestamp: "", tls: [], loadBalancer: [] }],
    ["no namespace", { metadata: { name: "web" } }, undefined],
    ["null", null, undefined],
  ];
  for (const [name, raw, expected] of partial) {
    void it(`an Ingress with ${name}`, () => { assert.deepEqual(toIngressSummary(raw), expected); });
  }
});
