import { rawItems, strings } from "./raw-fields.ts";
import { timestamp } from "./tls-secret.ts";

/** networking.k8s.io/v1 Ingress, for the controller's reflector (list and watch path). */
export const INGRESS = { group: "networking.k8s.io", version: "v1", plural: "ingresses" } as const;

/**
 * An Ingress as endpoint discovery reads it (src/probe/discover-endpoints.ts):
 * which Secrets it serves for which host names, and where its controller says
 * it can be reached. Nothing else: rules, backends, annotations and
 * managedFields are most of an Ingress and discovery needs none of them, so a
 * cluster of thousands of Ingresses costs the cache a few hundred bytes each.
 */
export interface IngressSummary {
  readonly namespace: string;
  readonly name: string;
  readonly creationTimestamp: string;
  /** spec.tls, in order: each entry names one Secret (always in the Ingress's namespace). */
  readonly tls: readonly IngressTls[];
  /** status.loadBalancer.ingress, in order: set by the Ingress controller, if it sets it at all. */
  readonly loadBalancer: readonly LoadBalancerAddress[];
}

export interface IngressTls {
  readonly secretName: string;
  /** spec.tls[].hosts: may be empty, and may hold wildcards (`*.example.com`). */
  readonly hosts: readonly string[];
}

/** One status.loadBalancer.ingress[] entry: an IP, a host name, or (rarely) both. */
export interface LoadBalancerAddress {
  readonly ip?: string;
  readonly hostname?: string;
}

interface RawIngress {
  metadata?: { namespace?: unknown; name?: unknown; creationTimestamp?: unknown };
  spec?: { tls?: unknown };
  status?: { loadBalancer?: { ingress?: unknown } };
}

/** The reflector's transform: undefined (ignored) for anything without a namespace and name. */
export function toIngressSummary(raw: unknown): IngressSummary | undefined {
  const ingress = raw as RawIngress | null;
  const { namespace, name, creationTimestamp } = ingress?.metadata ?? {};
  if (typeof namespace !== "string" || typeof name !== "string") return undefined;
  return {
    namespace, name, creationTimestamp: timestamp(creationTimestamp),
    tls: rawItems<{ secretName?: unknown; hosts?: unknown }>(ingress?.spec?.tls).flatMap((entry) =>
      // An entry without secretName means "the controller's default certificate": no Secret of ours.
      typeof entry?.secretName !== "string" || entry.secretName === "" ? [] : [{ secretName: entry.secretName, hosts: strings(entry.hosts) }]),
    loadBalancer: rawItems<{ ip?: unknown; hostname?: unknown }>(ingress?.status?.loadBalancer?.ingress).flatMap((entry) => {
      const address = {
        ...(typeof entry?.ip === "string" && entry.ip !== "" ? { ip: entry.ip } : {}),
        ...(typeof entry?.hostname === "string" && entry.hostname !== "" ? { hostname: entry.hostname } : {}),
      };
      return Object.keys(address).length === 0 ? [] : [address];
    }),
  };
}

/**
 * What `toIngressSummary` reads of a listed Ingress, still in the API's shape
 * (listPages' `keep`): the rest of a LIST page is garbage as soon as it is parsed.
 */
export function trimIngress(raw: unknown): unknown {
  const ingress = raw as RawIngress | null;
  const { namespace, name, creationTimestamp } = ingress?.metadata ?? {};
  return { metadata: { namespace, name, creationTimestamp }, spec: { tls: ingress?.spec?.tls }, status: { loadBalancer: ingress?.status?.loadBalancer } };
}

