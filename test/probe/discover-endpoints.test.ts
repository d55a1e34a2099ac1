// Endpoint discovery (src/probe/discover-endpoints.ts): which endpoints the Ingresses and
// Gateways of a StapleConfig's namespace give, at which address, and why some are not probed.
// The objects are written as the API server returns them and go through the same
// transforms as the controller's cache.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toGatewaySummary, type GatewaySummary } from "../../src/kube/gateway-summary.ts";
import { toIngressSummary, type IngressSummary } from "../../src/kube/ingress-summary.ts";
import { toServiceSummary, type ServiceSummary } from "../../src/kube/service-summary.ts";
import { discoverEndpoints, MAX_DISCOVERED_ENDPOINTS, type Discovery, type DiscoveryInput } from "../../src/probe/discover-endpoints.ts";

const NAMESPACE = "shop";

function ingress(raw: { name: string; namespace?: string; tls: unknown[]; loadBalancer?: unknown[] }): IngressSummary {
  const summary = toIngressSummary({
    apiVersion: "networking.k8s.io/v1", kind: "Ingress",
    metadata: { name: raw.name, namespace: raw.namespace ?? NAMESPACE, creationTimestamp: "2026-11-01T00:00:00Z" },
    spec: { ingressClassName: "nginx", tls: raw.tls, rules: [{ host: "shop.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }] } }] },
    status: { loadBalancer: raw.loadBalancer === undefined ? {} : { ingress: raw.loadBalancer } },
  });
  assert.ok(summary);
  return summary;
}

function gateway(raw: { name: string; namespace?: string; listeners: unknown[]; addresses?: unknown[] }): GatewaySummary {
  const summary = toGatewaySummary({
    apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway",
    metadata: { name: raw.name, namespace: raw.namespace ?? NAMESPACE },
    spec: { gatewayClassName: "eg", listeners: raw.listeners },
    status: raw.addresses === undefined ? {} : { addresses: raw.addresses },
  });
  assert.ok(summary);
  return summary;
}

function service(raw: { name: string; namespace: string; labels: Record<string, string>; ports: number[] }): ServiceSummary {
  const summary = toServiceSummary({
    apiVersion: "v1", kind: "Service",
    metadata: { name: raw.name, namespace: raw.namespace, labels: raw.labels },
    spec: { type: "LoadBalancer", ports: raw.ports.map((port) => ({ name: `tcp-${String(port)}`, port, protocol: "TCP", targetPort: port + 10_000 })) },
  });
  assert.ok(summary);
  return summary;
}

/** An HTTPS listener terminating with the given Secrets (tls.mode left to its default). */
function https(name: string, port: number, hostname: string | undefined, ...secrets: string[]): unknown {
  return { name, port, protocol: "HTTPS", ...(hostname === undefined ? {} : { hostname }), tls: { certificateRefs: secrets.map((secret) => ({ kind: "Secret", name: secret })) }, allowedRoutes: { namespaces: { from: "Same" } } };
}

const WEB_INGRESS = ingress({
  name: "web",
  tls: [{ hosts: ["shop.example.com", "www.shop.example.com"], secretName: "web-tls" }, { hosts: ["other.example.com"], secretName: "not-selected" }],
  loadBalancer: [{ ip: "203.0.113.10" }, { ip: "203.0.113.11" }],
});

interface Case {
  readonly name: string;
  readonly input: Partial<DiscoveryInput>;
  /** [address, serverName, secret, source] per endpoint, in order. */
  readonly endpoints: readonly (readonly [string, string | undefined, string, string])[];
  /** Patterns, one per unresolved line, in order. */
  readonly unresolved?: readonly RegExp[];
}

const CASES: Case[] = [
  // Ingress
  {
    name: "Ingress: one endpoint per host of a selected Secret's tls entry, at the first load-balancer IP on 443",
    input: { ingresses: [WEB_INGRESS] },
    endpoints: [
      ["203.0.113.10:443", "shop.example.com", "web-tls", "Ingress shop/web"],
      ["203.0.113.10:443", "www.shop.example.com", "web-tls", "Ingress shop/web"],
    ],
  },
  {
    name: "Ingress: a load balancer reported by host name (AWS ELB)",
    input: { ingresses: [ingress({ name: "web", tls: [{ hosts: ["shop.example.com"], secretName: "web-tls" }], loadBalancer: [{ hostname: "a1b2.elb.eu-west-1.amazonaws.com" }] })] },
    endpoints: [["a1b2.elb.eu-west-1.amazonaws.com:443", "shop.example.com", "web-tls", "Ingress shop/web"]],
  },
  {
    name: "Ingress: an IPv6 load-balancer address in brackets",
    input: { ingresses: [ingress({ name: "web", tls: [{ hosts: ["shop.example.com"], secretName: "web-tls" }], loadBalancer: [{ ip: "2001:db8::10" }] })] },
    endpoints: [["[2001:db8::10]:443", "shop.example.com", "web-tls", "Ingress shop/web"]],
  },
  {
    name: "Ingress: a wildcard host is probed as ocsp-probe.<domain>",
    input: { ingresses: [ingress({ name: "web", tls: [{ hosts: ["*.shop.example.com"], secretName: "web-tls" }], loadBalancer: [{ ip: "203.0.113.10" }] })] },
    endpoints: [["203.0.113.10:443", "ocsp-probe.shop.example.com", "web-tls", "Ingress shop/web"]],
  },
  {
    name: "Ingress: only tls entries naming a selected Secret count",
    input: { ingresses: [ingress({ name: "web", tls: [{ hosts: ["other.example.com"], secretName: "not-selected" }, { hosts: ["default.example.com"] }], loadBalancer: [{ ip: "203.0.113.10" }] })] },
    endpoints: [],
  },
  {
    name: "Ingress: without status, and no address given, it is unresolved (an Ingress names no Service)",
    input: { ingresses: [ingress({ name: "web", tls: [{ hosts: ["shop.example.com"], secretName: "web-tls" }] })] },
    endpoints: [],
    unresolved: [/^Ingress shop\/web: no address found; give one in spec\.probe\.discoverAddress \(its status\.loadBalancer is empty/],
  },
  {
    name: "Ingress: the address given is used instead of the status",
    input: { address: "ingress-nginx-controller.ingress-nginx.svc:443", ingresses: [WEB_INGRESS, ingress({ name: "api", tls: [{ hosts: ["api.example.com"], secretName: "api-tls" }] })] },
    endpoints: [
      ["ingress-nginx-controller.ingress-nginx.svc:443", "api.example.com", "api-tls", "Ingress shop/api"],
      ["ingress-nginx-controller.ingress-nginx.svc:443", "shop.example.com", "web-tls", "Ingress shop/web"],
      ["ingress-nginx-controller.ingress-nginx.svc:443", "www.shop.example.com", "web-tls", "Ingress shop/web"],
    ],
  },
  {
    name: "Ingress: a tls entry without hosts is unresolved (the controller picks its names)",
    input: { ingresses: [ingress({ name: "web", tls: [{ secretName: "web-tls" }], loadBalancer: [{ ip: "203.0.113.10" }] })] },
    endpoints: [],
    unresolved: [/^Ingress shop\/web: the tls entry for web-tls names no hosts/],
  },
  {
    name: "Ingress: one in another namespace is not looked at (its secretName is a Secret there)",
    input: { ingresses: [ingress({ name: "web", namespace: "blog", tls: [{ hosts: ["blog.example.com"], secretName: "web-tls" }], loadBalancer: [{ ip: "203.0.113.20" }] })] },
    endpoints: [],
  },
  {
    name: "an address no TLS client can dial (an IPv6 zone from a status) is reported, not probed",
    input: { ingresses: [ingress({ name: "web", tls: [{ hosts: ["shop.example.com"], secretName: "web-tls" }], loadBalancer: [{ ip: "fe80::1%eth0" }] })] },
    endpoints: [],
    unresolved: [/^Ingress shop\/web: "\[fe80::1%eth0\]:443 shop\.example\.com" is not a HOST:PORT and server name to probe/],
  },

  // Gateway
  {
    name: "Gateway: an HTTPS listener (tls.mode defaults to Terminate) at the first status address, on the listener's port",
    input: { gateways: [gateway({ name: "gw", listeners: [https("https", 8443, "shop.example.com", "web-tls")], addresses: [{ type: "IPAddress", value: "198.51.100.7" }] })] },
    endpoints: [["198.51.100.7:8443", "shop.example.com", "web-tls", "Gateway shop/gw listener https"]],
  },
  {
    name: "Gateway: a TLS listener with mode Terminate; Passthrough and HTTP listeners are skipped",
    input: {
      gateways: [gateway({
        name: "gw",
        listeners: [
          { name: "http", port: 80, protocol: "HTTP", hostname: "shop.example.com" },
          { name: "passthrough", port: 6443, protocol: "TLS", hostname: "kube.example.com", tls: { mode: "Passthrough", certificateRefs: [{ name: "web-tls" }] } },
          { name: "tls", port: 5671, protocol: "TLS", hostname: "amqp.example.com", tls: { mode: "Terminate", certificateRefs: [{ name: "web-tls" }] } },
        ],
        addresses: [{ value: "198.51.100.7" }],
      })],
    },
    endpoints: [["198.51.100.7:5671", "amqp.example.com", "web-tls", "Gateway shop/gw listener tls"]],
  },
  {
    name: "Gateway: the first selected Secret of a listener's certificateRefs; refs to other kinds or namespaces are not Secrets of ours",
    input: {
      gateways: [gateway({
        name: "gw",
        listeners: [
          { name: "configmap", port: 443, protocol: "HTTPS", hostname: "a.example.com", tls: { certificateRefs: [{ group: "", kind: "ConfigMap", name: "web-tls" }] } },
          { name: "foreign-group", port: 443, protocol: "HTTPS", hostname: "b.example.com", tls: { certificateRefs: [{ group: "example.io", kind: "Secret", name: "web-tls" }] } },
          { name: "elsewhere", port: 443, protocol: "HTTPS", hostname: "c.example.com", tls: { certificateRefs: [{ kind: "Secret", name: "web-tls", namespace: "certs" }] } },
          { name: "explicit", port: 443, protocol: "HTTPS", hostname: "d.example.com", tls: { certificateRefs: [{ group: "", kind: "Secret", name: "not-selected" }, { group: "", kind: "Secret", name: "api-tls", namespace: NAMESPACE }] } },
        ],
        addresses: [{ type: "IPAddress", value: "198.51.100.7" }],
      })],
    },
    endpoints: [["198.51.100.7:443", "d.example.com", "api-tls", "Gateway shop/gw listener explicit"]],
  },
  {
    name: "Gateway: a wildcard hostname is probed as ocsp-probe.<domain>; a listener without hostname gets no server name",
    input: { gateways: [gateway({ name: "gw", listeners: [https("wild", 443, "*.example.com", "web-tls"), https("any", 9443, undefined, "web-tls")], addresses: [{ type: "IPAddress", value: "198.51.100.7" }] })] },
    endpoints: [
      ["198.51.100.7:443", "ocsp-probe.example.com", "web-tls", "Gateway shop/gw listener wild"],
      ["198.51.100.7:9443", undefined, "web-tls", "Gateway shop/gw listener any"],
    ],
  },
  {
    name: "Gateway: a Hostname status address; an address of an implementation's own type is passed over",
    input: { gateways: [gateway({ name: "gw", listeners: [https("https", 443, "shop.example.com", "web-tls")], addresses: [{ type: "example.io/PrivateLink", value: "pl-123" }, { type: "Hostname", value: "gw.lb.example.net" }] })] },
    endpoints: [["gw.lb.example.net:443", "shop.example.com", "web-tls", "Gateway shop/gw listener https"]],
  },
  {
    name: "Gateway: without status, the Service labelled gateway.networking.k8s.io/gateway-name (Istio, kgateway, NGINX Gateway Fabric)",
    input: {
      gateways: [gateway({ name: "gw", listeners: [https("https", 443, "shop.example.com", "web-tls")] })],
      services: [
        service({ name: "gw-other", namespace: NAMESPACE, labels: { "gateway.networking.k8s.io/gateway-name": "other" }, ports: [443] }),
        service({ name: "gw-istio", namespace: NAMESPACE, labels: { "gateway.networking.k8s.io/gateway-name": "gw" }, ports: [15021, 443] }),
      ],
    },
    endpoints: [["gw-istio.shop.svc:443", "shop.example.com", "web-tls", "Gateway shop/gw listener https"]],
  },
  {
    name: "Gateway: without status, Envoy Gateway's Service in its own namespace, named by the owning-gateway labels",
    input: {
      gateways: [gateway({ name: "gw", listeners: [https("https", 443, "shop.example.com", "web-tls")] })],
      services: [
        service({ name: "envoy-blog-gw-1a2b3c4d", namespace: "envoy-gateway-system", labels: { "gateway.envoyproxy.io/owning-gateway-name": "gw", "gateway.envoyproxy.io/owning-gateway-namespace": "blog" }, ports: [443] }),
        service({ name: "envoy-shop-gw-5e6f7a8b", namespace: "envoy-gateway-system", labels: { "gateway.envoyproxy.io/owning-gateway-name": "gw", "gateway.envoyproxy.io/owning-gateway-namespace": NAMESPACE }, ports: [443] }),
      ],
    },
    endpoints: [["envoy-shop-gw-5e6f7a8b.envoy-gateway-system.svc:443", "shop.example.com", "web-tls", "Gateway shop/gw listener https"]],
  },
  {
    name: "Gateway: a labelled Service in the Gateway's namespace is preferred to one elsewhere",
    input: {
      gateways: [gateway({ name: "gw", listeners: [https("https", 443, "shop.example.com", "web-tls")] })],
      services: [
        service({ name: "envoy-shop-gw-5e6f7a8b", namespace: "envoy-gateway-system", labels: { "gateway.envoyproxy.io/owning-gateway-name": "gw", "gateway.envoyproxy.io/owning-gateway-namespace": NAMESPACE }, ports: [443] }),
        service({ name: "gw-istio", namespace: NAMESPACE, labels: { "gateway.networking.k8s.io/gateway-name": "gw" }, ports: [443] }),
      ],
    },
    endpoints: [["gw-istio.shop.svc:443", "shop.example.com", "web-tls", "Gateway shop/gw listener https"]],
  },
  {
    name: "Gateway: status addresses win over a labelled Service",
    input: {
      gateways: [gateway({ name: "gw", listeners: [https("https", 443, "shop.example.com", "web-tls")], addresses: [{ type: "IPAddress", value: "198.51.100.7" }] })],
      services: [service({ name: "gw-istio", namespace: NAMESPACE, labels: { "gateway.networking.k8s.io/gateway-name": "gw" }, ports: [443] })],
    },
    endpoints: [["198.51.100.7:443", "shop.example.com", "web-tls", "Gateway shop/gw listener https"]],
  },
  {
    name: "Gateway: a labelled Service without the listener's port is unresolved, and says so",
    input: {
      gateways: [gateway({ name: "gw", listeners: [https("https", 8443, "shop.example.com", "web-tls")] })],
      services: [service({ name: "gw-istio", namespace: NAMESPACE, labels: { "gateway.networking.k8s.io/gateway-name": "gw" }, ports: [443] })],
    },
    endpoints: [],
    unresolved: [/^Gateway shop\/gw listener https: no address found; give one in spec\.probe\.discoverAddress .*Service shop\/gw-istio has no port 8443/],
  },
  {
    name: "Gateway: no status and no Service is unresolved; a Gateway beside it with status is still probed",
    input: {
      gateways: [
        gateway({ name: "gw", listeners: [https("https", 443, "shop.example.com", "web-tls")] }),
        gateway({ name: "gx", listeners: [https("https", 443, "api.example.com", "api-tls")], addresses: [{ type: "IPAddress", value: "198.51.100.8" }] }),
      ],
    },
    endpoints: [["198.51.100.8:443", "api.example.com", "api-tls", "Gateway shop/gx listener https"]],
    unresolved: [/^Gateway shop\/gw listener https: no address found; .*no Service is labelled for it/],
  },
  {
    name: "Gateway: the address given is used for every listener, whatever the status says",
    input: { address: "10.0.0.5:443", gateways: [gateway({ name: "gw", listeners: [https("https", 443, "shop.example.com", "web-tls"), https("alt", 8443, "alt.example.com", "web-tls")], addresses: [{ type: "IPAddress", value: "198.51.100.7" }] })] },
    endpoints: [
      ["10.0.0.5:443", "shop.example.com", "web-tls", "Gateway shop/gw listener https"],
      ["10.0.0.5:443", "alt.example.com", "web-tls", "Gateway shop/gw listener alt"],
    ],
  },
  {
    name: "Gateway: one in another namespace referencing a selected Secret (a ReferenceGrant) is named, not probed",
    input: { gateways: [gateway({ name: "shared", namespace: "infra", listeners: [{ name: "https", port: 443, protocol: "HTTPS", hostname: "shop.example.com", tls: { certificateRefs: [{ kind: "Secret", name: "web-tls", namespace: NAMESPACE }] } }, https("own", 443, "infra.example.com", "web-tls")], addresses: [{ type: "IPAddress", value: "198.51.100.9" }] })] },
    endpoints: [],
    unresolved: [/^Gateway infra\/shared listener https: references web-tls from another namespace/],
  },

  // Both, and the whole
  {
    name: "one probe per address and server name: the first kept, a second Secret for the same name reported",
    input: {
      address: "10.0.0.5:443",
      ingresses: [
        WEB_INGRESS,
        ingress({ name: "web-copy", tls: [{ hosts: ["shop.example.com"], secretName: "web-tls" }] }),
        ingress({ name: "web-old", tls: [{ hosts: ["www.shop.example.com"], secretName: "api-tls" }] }),
      ],
      gateways: [gateway({ name: "gw", listeners: [https("https", 443, "shop.example.com", "web-tls")] })],
    },
    endpoints: [
      ["10.0.0.5:443", "shop.example.com", "web-tls", "Ingress shop/web"],
      ["10.0.0.5:443", "www.shop.example.com", "web-tls", "Ingress shop/web"],
    ],
    unresolved: [/^Ingress shop\/web-old: www\.shop\.example\.com is also claimed by Ingress shop\/web for web-tls/],
  },
  {
    name: "the same name at two addresses is two endpoints",
    input: {
      ingresses: [WEB_INGRESS],
      gateways: [gateway({ name: "gw", listeners: [https("https", 443, "shop.example.com", "web-tls")], addresses: [{ type: "IPAddress", value: "198.51.100.7" }] })],
    },
    endpoints: [
      ["203.0.113.10:443", "shop.example.com", "web-tls", "Ingress shop/web"],
      ["203.0.113.10:443", "www.shop.example.com", "web-tls", "Ingress shop/web"],
      ["198.51.100.7:443", "shop.example.com", "web-tls", "Gateway shop/gw listener https"],
    ],
  },
];

function discover(input: Partial<DiscoveryInput>): Discovery {
  return discoverEndpoints({ namespace: NAMESPACE, selectedSecrets: new Set(["web-tls", "api-tls"]), ingresses: [], gateways: [], services: [], ...input });
}

void describe("endpoint discovery", () => {
  for (const testCase of CASES) {
    void it(testCase.name, () => {
      const { endpoints, unresolved } = discover(testCase.input);
      assert.deepEqual(endpoints.map((endpoint) => [endpoint.address, endpoint.serverName, endpoint.secret, endpoint.source]), testCase.endpoints);
      for (const endpoint of endpoints) assert.equal("serverName" in endpoint, endpoint.serverName !== undefined, "no serverName key without a name");
      const expected = testCase.unresolved ?? [];
      assert.equal(unresolved.length, expected.length, `unresolved: ${JSON.stringify(unresolved)}`);
      expected.forEach((pattern, index) => { assert.match(unresolved[index] ?? "", pattern); });
    });
  }

  void it("the order does not depend on the caches' order (Ingresses, then Gateways, each by namespace and name)", () => {
    const ingresses = ["c", "a", "b"].map((name) => ingress({ name, tls: [{ hosts: [`${name}.example.com`], secretName: "web-tls" }], loadBalancer: [{ ip: "203.0.113.10" }] }));
    const gateways = ["z", "y"].map((name) => gateway({ name, listeners: [https("https", 443, `${name}.example.com`, "web-tls")], addresses: [{ type: "IPAddress", value: "198.51.100.7" }] }));
    const forwards = discover({ ingresses, gateways }).endpoints.map((endpoint) => endpoint.serverName);
    const backwards = discover({ ingresses: [...ingresses].reverse(), gateways: [...gateways].reverse() }).endpoints.map((endpoint) => endpoint.serverName);
    assert.deepEqual(forwards, ["a.example.com", "b.example.com", "c.example.com", "y.example.com", "z.example.com"]);
    assert.deepEqual(backwards, forwards);
  });

  void it(`at most ${String(MAX_DISCOVERED_ENDPOINTS)} endpoints, the rest counted in unresolved`, () => {
    const hosts = Array.from({ length: 60 }, (_, index) => `h${String(index).padStart(2, "0")}.example.com`);
    const { endpoints, unresolved } = discover({ ingresses: [ingress({ name: "web", tls: [{ hosts, secretName: "web-tls" }], loadBalancer: [{ ip: "203.0.113.10" }] })] });
    assert.equal(endpoints.length, MAX_DISCOVERED_ENDPOINTS);
    assert.equal(endpoints.at(-1)?.serverName, "h49.example.com");
    assert.deepEqual(unresolved, ["10 more endpoints found than probed: at most 50"]);
  });

  void it("a smaller limit, for the room the listed endpoints leave", () => {
    const { endpoints, unresolved } = discover({ limit: 1, ingresses: [WEB_INGRESS] });
    assert.deepEqual(endpoints.map((endpoint) => endpoint.serverName), ["shop.example.com"]);
    assert.deepEqual(unresolved, ["1 more endpoints found than probed: at most 1"]);
  });

  void it("nothing selected, nothing found", () => {
    const { endpoints, unresolved } = discoverEndpoints({ namespace: NAMESPACE, selectedSecrets: new Set(), ingresses: [WEB_INGRESS], gateways: [], services: [] });
    assert.deepEqual([endpoints, unresolved], [[], []]);
  });
});
