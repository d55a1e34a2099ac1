import { GATEWAY, toGatewaySummary, trimGateway, type GatewaySummary } from "./gateway-summary.ts";
import { INGRESS, toIngressSummary, trimIngress, type IngressSummary } from "./ingress-summary.ts";
import { toServiceSummary, trimService, type ServiceSummary } from "./service-summary.ts";

/**
 * What a reflector needs to cache one kind of object for endpoint discovery
 * (src/probe/discover-endpoints.ts): the path to LIST (with listPages, each
 * item cut down by `trim` as its page is parsed) and to WATCH, and how an
 * object becomes what the cache keeps. Every kind is keyed namespace/name.
 */
export interface DiscoverySource<T> {
  /** For reflector names and logs: "ingresses", "gateways", "services". */
  readonly kind: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly trim: (raw: unknown) => unknown;
  readonly transform: (raw: unknown) => T | undefined;
  readonly keyOf: (item: T) => string;
}

/** Ingresses in one namespace, or in all of them (namespace undefined). */
export function ingressSource(namespace: string | undefined): DiscoverySource<IngressSummary> {
  return { kind: "ingresses", path: groupPath(INGRESS, namespace), query: {}, trim: trimIngress, transform: toIngressSummary, keyOf: objectKey };
}

/**
 * Gateways likewise. Where the Gateway API is not installed the LIST answers
 * 404: the caller should treat that as "no Gateways", not retry it forever.
 */
export function gatewaySource(namespace: string | undefined): DiscoverySource<GatewaySummary> {
  return { kind: "gateways", path: groupPath(GATEWAY, namespace), query: {}, trim: trimGateway, transform: toGatewaySummary, keyOf: objectKey };
}

/**
 * Every Service: a label selector cannot ask for either of the labels that
 * tie a Service to a Gateway (service-summary.ts), so all are listed and the
 * transform keeps only those; the others cost one LIST item each, never cache.
 */
export function serviceSource(namespace: string | undefined): DiscoverySource<ServiceSummary> {
  return { kind: "services", path: namespace === undefined ? "/api/v1/services" : `/api/v1/namespaces/${namespace}/services`, query: {}, trim: trimService, transform: toServiceSummary, keyOf: objectKey };
}

function groupPath(resource: { group: string; version: string; plural: string }, namespace: string | undefined): string {
  const base = `/apis/${resource.group}/${resource.version}`;
  return namespace === undefined ? `${base}/${resource.plural}` : `${base}/namespaces/${namespace}/${resource.plural}`;
}

function objectKey(item: { namespace: string; name: string }): string {
  return `${item.namespace}/${item.name}`;
}
