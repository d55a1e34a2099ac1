import { portNumber, rawItems } from "./raw-fields.ts";
import { timestamp } from "./tls-secret.ts";

/** gateway.networking.k8s.io/v1 Gateway, for the controller's reflector (list and watch path). */
export const GATEWAY = { group: "gateway.networking.k8s.io", version: "v1", plural: "gateways" } as const;

/**
 * A Gateway as endpoint discovery reads it (src/probe/discover-endpoints.ts):
 * its listeners' ports, host names and certificate references, and the
 * addresses its implementation reports. Routes, allowedRoutes, conditions and
 * managedFields are dropped before anything is cached.
 */
export interface GatewaySummary {
  readonly namespace: string;
  readonly name: string;
  readonly creationTimestamp: string;
  /** spec.listeners, in order. */
  readonly listeners: readonly GatewayListener[];
  /** status.addresses, in order: what the implementation says the Gateway is reachable at. */
  readonly addresses: readonly GatewayAddress[];
}

export interface GatewayListener {
  readonly name: string;
  readonly port: number;
  /** HTTP, HTTPS, TLS, TCP, UDP or an implementation's own (a domain-prefixed name). */
  readonly protocol: string;
  /** May be a wildcard (`*.example.com`); absent: the listener answers for every name. */
  readonly hostname?: string;
  /** tls.mode with the API's default applied (Terminate); absent without a tls block. */
  readonly tlsMode?: string;
  /** tls.certificateRefs with the API's defaults applied (group "", kind Secret). */
  readonly certificateRefs: readonly CertificateRef[];
}

export interface CertificateRef {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
  /** Absent: the Gateway's own namespace. Another one needs a ReferenceGrant there. */
  readonly namespace?: string;
}

export interface GatewayAddress {
  /** IPAddress, Hostname, or an implementation's own (a domain-prefixed name); absent means IPAddress. */
  readonly type: string;
  readonly value: string;
}

interface RawGateway {
  metadata?: { namespace?: unknown; name?: unknown; creationTimestamp?: unknown };
  spec?: { listeners?: unknown };
  status?: { addresses?: unknown };
}

interface RawListener {
  name: unknown; port: unknown; protocol: unknown; hostname: unknown;
  tls: { mode?: unknown; certificateRefs?: unknown } | null;
}

interface RawReference { group: unknown; kind: unknown; name: unknown; namespace: unknown }

/** The reflector's transform: undefined (ignored) for anything without a namespace and name. */
export function toGatewaySummary(raw: unknown): GatewaySummary | undefined {
  const gateway = raw as RawGateway | null;
  const { namespace, name, creationTimestamp } = gateway?.metadata ?? {};
  if (typeof namespace !== "string" || typeof name !== "string") return undefined;
  return {
    namespace, name, creationTimestamp: timestamp(creationTimestamp),
    listeners: rawItems<RawListener>(gateway?.spec?.listeners).flatMap((listener) => {
      const port = portNumber(listener?.port);
      if (typeof listener?.name !== "string" || typeof listener.protocol !== "string" || port === undefined) return [];
      const tls = listener.tls;
      return [{
        name: listener.name, port, protocol: listener.protocol,
        ...(typeof listener.hostname === "string" && listener.hostname !== "" ? { hostname: listener.hostname } : {}),
        ...(typeof tls === "object" && tls !== null ? { tlsMode: typeof tls.mode === "string" ? tls.mode : "Terminate" } : {}),
        certificateRefs: rawItems<RawReference>(tls?.certificateRefs).flatMap((ref) => typeof ref?.name !== "string" ? [] : [{
          group: typeof ref.group === "string" ? ref.group : "",
          kind: typeof ref.kind === "string" ? ref.kind : "Secret",
          name: ref.name,
          ...(typeof ref.namespace === "string" && ref.namespace !== "" ? { namespace: ref.namespace } : {}),
        }]),
      }];
    }),
    addresses: rawItems<{ type: unknown; value: unknown }>(gateway?.status?.addresses).flatMap((address) =>
      typeof address?.value !== "string" || address.value === "" ? [] : [{ type: typeof address.type === "string" ? address.type : "IPAddress", value: address.value }]),
  };
}

/**
 * What `toGatewaySummary` reads of a listed Gateway, still in the API's shape
 * (listPages' `keep`), so a LIST page is garbage as soon as it is parsed.
 */
export function trimGateway(raw: unknown): unknown {
  const gateway = raw as RawGateway | null;
  const { namespace, name, creationTimestamp } = gateway?.metadata ?? {};
  return {
    metadata: { namespace, name, creationTimestamp },
    spec: {
      listeners: rawItems<RawListener>(gateway?.spec?.listeners).map((listener) => {
        const tls = listener?.tls;
        const { name: listenerName, port, protocol, hostname } = listener ?? {};
        return { name: listenerName, port, protocol, hostname, ...(typeof tls === "object" && tls !== null ? { tls: { mode: tls.mode, certificateRefs: tls.certificateRefs } } : {}) };
      }),
    },
    status: { addresses: gateway?.status?.addresses },
  };
}
