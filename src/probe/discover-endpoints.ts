import type { GatewayListener, GatewaySummary } from "../kube/gateway-summary.ts";
import type { IngressSummary } from "../kube/ingress-summary.ts";
import type { ServiceSummary } from "../kube/service-summary.ts";
import type { ProbeEndpoint } from "../kube/staple-config.ts";

/**
 * Endpoint discovery (`spec.probe.discover`): the endpoints that serve a
 * StapleConfig's Secrets, found in the Ingresses and Gateways of its
 * namespace, so users need not list them. Pure: the controller hands in its
 * cached summaries (src/kube/*-summary.ts) and probes what comes back.
 *
 * What it can only guess, and how (README, "Discovering endpoints"):
 * - the address: the one the user gives wins, since only the user knows a
 *   route that reaches the servers from the operator's pod; else what the
 *   Ingress controller or Gateway implementation reports in the object's
 *   status; else, for a Gateway, the Service its implementation labelled
 *   for it. An Ingress names no Service (its controller's is anyone's
 *   guess), so without status or a given address it is listed as unresolved.
 * - the name to send (SNI): the host the entry names. A wildcard is no name a
 *   client sends; `ocsp-probe.<rest>` is one that the wildcard, and so the
 *   server's routing and the certificate, match.
 */

/** An endpoint found by discovery: always with the Secret it should serve, and where it was found. */
export interface DiscoveredEndpoint extends ProbeEndpoint {
  readonly secret: string;
  /** "Ingress shop/web" or "Gateway shop/gw listener https": for status and logs. */
  readonly source: string;
}

export interface DiscoveryInput {
  /** The StapleConfig's namespace: only Ingresses and Gateways in it are looked at. */
  readonly namespace: string;
  /** Names of the TLS Secrets the StapleConfig selects (in its namespace). */
  readonly selectedSecrets: ReadonlySet<string>;
  readonly ingresses: Iterable<IngressSummary>;
  readonly gateways: Iterable<GatewaySummary>;
  /** Services labelled for a Gateway, in any namespace (Envoy Gateway's live in its own). */
  readonly services: Iterable<ServiceSummary>;
  /** HOST:PORT to probe every discovered endpoint at, instead of the addresses found. */
  readonly address?: string;
  /** At most this many endpoints (default MAX_DISCOVERED_ENDPOINTS): the caller may subtract the listed ones. */
  readonly limit?: number;
}

export interface Discovery {
  /** In a stable order: Ingresses then Gateways, each by name, entries and hosts as written. */
  readonly endpoints: readonly DiscoveredEndpoint[];
  /** Why something that serves a selected Secret is not probed, one line each, for status and logs. */
  readonly unresolved: readonly string[];
}

/** As many as spec.probe.endpoints may list: a probe is a TLS handshake every interval, each. */
export const MAX_DISCOVERED_ENDPOINTS = 50;

/** The label put in place of a wildcard's `*` (see the file comment). */
export const WILDCARD_PROBE_LABEL = "ocsp-probe";

/** Ingress status names an address without a port: the Ingress API serves HTTPS on 443. */
const INGRESS_HTTPS_PORT = 443;

/** The hint in every "no address" line: the one setting that fixes it. */
const NO_ADDRESS = "no address found; give one in spec.probe.discoverAddress";

/**
 * The endpoints serving the selected Secrets, and what serves one but cannot
 * be probed. Cheap and pure (a pass over cached summaries): the controller
 * runs it again whenever an Ingress, Gateway, Service or selection changes
 * (gathered over a second: src/controller/endpoint-probes.ts).
 */
export function discoverEndpoints(input: DiscoveryInput): Discovery {
  const found: DiscoveredEndpoint[] = [];
  const unresolved: string[] = [];
  // Only this namespace's Ingresses are sorted: the cache holds every watched namespace's.
  for (const ingress of byName([...input.ingresses].filter((candidate) => candidate.namespace === input.namespace))) fromIngress(ingress, input, found, unresolved);
  const services = byName(input.services);
  for (const gateway of byName(input.gateways)) {
    if (gateway.namespace === input.namespace) fromGateway(gateway, input, services, found, unresolved);
    else crossNamespaceRefs(gateway, input, unresolved);
  }
  return { endpoints: limited(unique(wellFormed(found, unresolved), unresolved), input.limit ?? MAX_DISCOVERED_ENDPOINTS, unresolved), unresolved };
}

/**
 * One endpoint per host of each spec.tls entry naming a selected Secret
 * (secretName is always in the Ingress's namespace). An entry without hosts
 * is served for names the controller picks (a default certificate, or the
 * rules' hosts, depending on the controller): guessing would report a
 * certificate mismatch that is no fault, so it is listed as unresolved.
 */
function fromIngress(ingress: IngressSummary, input: DiscoveryInput, found: DiscoveredEndpoint[], unresolved: string[]): void {
  const source = `Ingress ${ingress.namespace}/${ingress.name}`;
  const entries = ingress.tls.filter((entry) => input.selectedSecrets.has(entry.secretName));
  if (entries.length === 0) return;
  const address = input.address ?? statusAddress(ingress);
  if (address === undefined) {
    unresolved.push(`${source}: ${NO_ADDRESS} (its status.loadBalancer is empty, and an Ingress names no Service)`);
    return;
  }
  for (const entry of entries) {
    if (entry.hosts.length === 0) unresolved.push(`${source}: the tls entry for ${entry.secretName} names no hosts; list the endpoint in spec.probe.endpoints`);
    for (const host of entry.hosts) found.push({ address, serverName: probeName(host), secret: entry.secretName, source });
  }
}

/** The first load-balancer address the Ingress controller reported, on 443. */
function statusAddress(ingress: IngressSummary): string | undefined {
  const first = ingress.loadBalancer[0];
  const host = first?.ip ?? first?.hostname;
  return host === undefined ? undefined : hostPort(host, INGRESS_HTTPS_PORT);
}

/**
 * HTTPS and TLS listeners that terminate TLS with a selected Secret; the
 * first one when a listener names several (an RSA and an ECDSA certificate:
 * which one a client gets depends on what it offers). A
 * Passthrough listener hands the handshake to a backend: whatever it serves
 * is not the Gateway's Secret. A reference to another namespace's Secret is
 * not a selected one (those are in the StapleConfig's namespace).
 */
function fromGateway(gateway: GatewaySummary, input: DiscoveryInput, services: readonly ServiceSummary[], found: DiscoveredEndpoint[], unresolved: string[]): void {
  for (const listener of gateway.listeners) {
    if (!terminatesTls(listener)) continue;
    const secret = listener.certificateRefs.find((ref) => isSecretRef(ref) && (ref.namespace ?? gateway.namespace) === input.namespace && input.selectedSecrets.has(ref.name))?.name;
    if (secret === undefined) continue;
    const source = `Gateway ${gateway.namespace}/${gateway.name} listener ${listener.name}`;
    const address = input.address ?? gatewayAddress(gateway, listener) ?? serviceAddress(gateway, listener, services);
    if (typeof address !== "string") {
      unresolved.push(`${source}: ${NO_ADDRESS} (no IP or host name in its status.addresses${address?.reason ?? ", and no Service is labelled for it"})`);
      continue;
    }
    found.push({ address, ...(listener.hostname === undefined ? {} : { serverName: probeName(listener.hostname) }), secret, source });
  }
}

function terminatesTls(listener: GatewayListener): boolean {
  return (listener.protocol === "HTTPS" || listener.protocol === "TLS") && listener.tlsMode === "Terminate";
}

function isSecretRef(ref: { group: string; kind: string }): boolean {
  return ref.group === "" && ref.kind === "Secret";
}

/**
 * The first IP or host name in status.addresses, on the listener's port
 * (load balancers forward each listener's port as it is). An address of an
 * implementation's own type means nothing to a TLS client.
 */
function gatewayAddress(gateway: GatewaySummary, listener: GatewayListener): string | undefined {
  const first = gateway.addresses.find((address) => address.type === "IPAddress" || address.type === "Hostname");
  return first === undefined ? undefined : hostPort(first.value, listener.port);
}

/**
 * The cluster DNS name of a Service labelled for the Gateway, with a port
 * equal to the listener's (implementations expose each listener on its own
 * port). The Gateway's namespace is preferred, then by namespace and name.
 */
function serviceAddress(gateway: GatewaySummary, listener: GatewayListener, services: readonly ServiceSummary[]): string | { reason: string } | undefined {
  const labelled = services.filter((service) => service.gateway.namespace === gateway.namespace && service.gateway.name === gateway.name);
  const ordered = [...labelled.filter((service) => service.namespace === gateway.namespace), ...labelled.filter((service) => service.namespace !== gateway.namespace)];
  const service = ordered.find((candidate) => candidate.ports.includes(listener.port));
  if (service !== undefined) return `${service.name}.${service.namespace}.svc:${String(listener.port)}`;
  const first = ordered[0];
  return first === undefined ? undefined : { reason: `, and Service ${first.namespace}/${first.name} has no port ${String(listener.port)}` };
}

/**
 * A Gateway elsewhere that references a selected Secret across namespaces
 * (allowed by a ReferenceGrant): its endpoints belong to that namespace's
 * StapleConfigs' view, not this one's, so they are only named.
 */
function crossNamespaceRefs(gateway: GatewaySummary, input: DiscoveryInput, unresolved: string[]): void {
  for (const listener of gateway.listeners) {
    const ref = listener.certificateRefs.find((candidate) => isSecretRef(candidate) && candidate.namespace === input.namespace && input.selectedSecrets.has(candidate.name));
    if (ref !== undefined && terminatesTls(listener)) {
      unresolved.push(`Gateway ${gateway.namespace}/${gateway.name} listener ${listener.name}: references ${ref.name} from another namespace; list the endpoint in spec.probe.endpoints`);
    }
  }
}

/** A host name to send as SNI: a wildcard's `*` replaced (see the file comment). */
export function probeName(host: string): string {
  return host.startsWith("*.") ? `${WILDCARD_PROBE_LABEL}${host.slice(1)}` : host;
}

/** HOST:PORT as spec.probe.endpoints writes it: an IPv6 address in brackets. */
function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${String(port)}`;
}

/** spec.probe.endpoints' patterns (the CRD's): what a listed endpoint may be, a discovered one may be. */
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[-.a-zA-Z0-9]+):[0-9]{1,5}$/;
const SERVER_NAME = /^[-.a-zA-Z0-9*]+$/;

/**
 * Status fields are written by other controllers and no schema checks them
 * as the CRD checks a listed endpoint (an IPv6 address with a zone, a host
 * name with a space): such an endpoint is reported, not handed to the prober.
 */
function wellFormed(found: readonly DiscoveredEndpoint[], unresolved: string[]): DiscoveredEndpoint[] {
  return found.filter((endpoint) => {
    const ok = ADDRESS.test(endpoint.address) && (endpoint.serverName === undefined || SERVER_NAME.test(endpoint.serverName));
    if (!ok) unresolved.push(`${endpoint.source}: ${JSON.stringify(`${endpoint.address} ${endpoint.serverName ?? ""}`.trim())} is not a HOST:PORT and server name to probe`);
    return ok;
  });
}

/**
 * One probe per (address, serverName), the first found kept: a handshake
 * with the same name at the same address sees the same certificate. When the
 * dropped one expected another Secret, two objects claim one name and only
 * one can be served: that is worth a line.
 */
function unique(found: readonly DiscoveredEndpoint[], unresolved: string[]): DiscoveredEndpoint[] {
  const kept = new Map<string, DiscoveredEndpoint>();
  for (const endpoint of found) {
    const key = `${endpoint.address}/${endpoint.serverName ?? ""}`;
    const first = kept.get(key);
    if (first === undefined) kept.set(key, endpoint);
    else if (first.secret !== endpoint.secret) {
      unresolved.push(`${endpoint.source}: ${endpoint.serverName ?? endpoint.address} is also claimed by ${first.source} for ${first.secret}; probed for that one only`);
    }
  }
  return [...kept.values()];
}

function limited(endpoints: DiscoveredEndpoint[], limit: number, unresolved: string[]): DiscoveredEndpoint[] {
  if (endpoints.length <= limit) return endpoints;
  unresolved.push(`${String(endpoints.length - limit)} more endpoints found than probed: at most ${String(limit)}`);
  return endpoints.slice(0, limit);
}

/** Sorted by namespace and name: the cache's Map order is insertion order, which differs between replicas and relists. */
function byName<T extends { readonly namespace: string; readonly name: string }>(items: Iterable<T>): T[] {
  return [...items].sort((a, b) => compare(a.namespace, b.namespace) || compare(a.name, b.name));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
