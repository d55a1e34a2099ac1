import { isStringMap } from "./tls-secret.ts";
import { portNumber, rawItems } from "./raw-fields.ts";

/**
 * The label GEP-1762 (in-cluster Gateway deployments) asks implementations
 * to put on what they create for a Gateway, its value the Gateway's name;
 * the Service is in the Gateway's namespace. Istio, kgateway, NGINX Gateway
 * Fabric and others set it.
 */
export const GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name";

/**
 * Envoy Gateway's own pair: its Services live in its controller's namespace
 * (envoy-gateway-system) by default, not the Gateway's, so the Gateway's
 * namespace is a label too.
 */
export const ENVOY_GATEWAY_NAME_LABEL = "gateway.envoyproxy.io/owning-gateway-name";
export const ENVOY_GATEWAY_NAMESPACE_LABEL = "gateway.envoyproxy.io/owning-gateway-namespace";

/**
 * A Service that exposes a Gateway, as endpoint discovery reads it: which
 * Gateway, and its ports. Discovery probes `<name>.<namespace>.svc:<port>`
 * when the Gateway reports no address of its own. Services that expose no
 * Gateway are not cached at all.
 */
export interface ServiceSummary {
  readonly namespace: string;
  readonly name: string;
  /** The Gateway this Service was created for, from its labels. */
  readonly gateway: { readonly namespace: string; readonly name: string };
  /** spec.ports[].port. */
  readonly ports: readonly number[];
}

interface RawService {
  metadata?: { namespace?: unknown; name?: unknown; labels?: unknown };
  spec?: { ports?: unknown };
}

/** The reflector's transform: undefined (not cached) for a Service that is no Gateway's. */
export function toServiceSummary(raw: unknown): ServiceSummary | undefined {
  const service = raw as RawService | null;
  const { namespace, name, labels } = service?.metadata ?? {};
  if (typeof namespace !== "string" || typeof name !== "string" || !isStringMap(labels)) return undefined;
  const gateway = gatewayOf(namespace, labels);
  if (gateway === undefined) return undefined;
  return {
    namespace, name, gateway,
    ports: rawItems<{ port: unknown }>(service?.spec?.ports).flatMap((port) => { const number = portNumber(port?.port); return number === undefined ? [] : [number]; }),
  };
}

/** The standard label first: an implementation that sets both means the same Gateway by them. */
function gatewayOf(namespace: string, labels: Readonly<Record<string, string>>): { namespace: string; name: string } | undefined {
  const standard = labels[GATEWAY_NAME_LABEL];
  if (standard !== undefined && standard !== "") return { namespace, name: standard };
  const envoy = labels[ENVOY_GATEWAY_NAME_LABEL];
  if (envoy !== undefined && envoy !== "") return { namespace: labels[ENVOY_GATEWAY_NAMESPACE_LABEL] || namespace, name: envoy };
  return undefined;
}

/** What `toServiceSummary` reads of a listed Service, still in the API's shape (listPages' `keep`). */
export function trimService(raw: unknown): unknown {
  const service = raw as RawService | null;
  const { namespace, name, labels } = service?.metadata ?? {};
  const kept = isStringMap(labels) ? Object.fromEntries([GATEWAY_NAME_LABEL, ENVOY_GATEWAY_NAME_LABEL, ENVOY_GATEWAY_NAMESPACE_LABEL].flatMap((key) => labels[key] === undefined ? [] : [[key, labels[key]]])) : labels;
  return { metadata: { namespace, name, labels: kept }, spec: { ports: rawItems<{ port: unknown }>(service?.spec?.ports).map((port) => ({ port: port?.port })) } };
}
