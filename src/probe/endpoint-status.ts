import { rfc3339 } from "../kube/rfc3339.ts";
import type { ConditionReason } from "../staple/reasons.ts";
import { stateRank, type EndpointState } from "./endpoint-state.ts";
import type { EndpointResult } from "./prober.ts";

/** One entry of `status.endpoints` (the CRD). */
export interface EndpointStatusEntry {
  readonly address: string;
  readonly serverName?: string;
  readonly secret?: string;
  readonly state: EndpointState;
  readonly message: string;
  readonly servedThisUpdate?: string;
  readonly since: string;
}

/** What a config's status says of its endpoints: the entries, the count served, and the Served condition. */
export interface EndpointsStatus {
  readonly entries: readonly EndpointStatusEntry[];
  readonly served: number;
  /** With spec.probe.discover: how many endpoints discovery found, and what it could not probe (at most 10 lines). */
  readonly discovery?: { readonly found: number; readonly unresolved: readonly string[] };
  readonly condition: { readonly status: "True" | "False" | "Unknown"; readonly reason: ConditionReason; readonly message: string };
}

/** The status lists this many endpoints at most (the metrics have every one). */
export const MAX_ENDPOINT_ENTRIES = 20;
/** The status lists this many of discovery's unresolved lines at most (the controller logs them all). */
export const MAX_UNRESOLVED_LINES = 10;

/**
 * The endpoints' part of a config's status, pure: entries worst state first
 * (ENDPOINT_STATES order), then by address; Served True when every endpoint
 * serves the current staple, Unknown while some are not probed yet and none
 * fails, else False with the worst state as its reason.
 */
export function endpointsStatus(results: readonly EndpointResult[], discovery?: { readonly found: number; readonly unresolved: readonly string[] }): EndpointsStatus {
  const sorted = [...results].sort((a, b) => rank(a) - rank(b) || a.target.endpoint.address.localeCompare(b.target.endpoint.address) || (a.target.endpoint.serverName ?? "").localeCompare(b.target.endpoint.serverName ?? ""));
  const served = results.filter((result) => result.judgement.state === "Served").length;
  return {
    entries: sorted.slice(0, MAX_ENDPOINT_ENTRIES).map(entryOf), served, condition: servedCondition(sorted, served, discovery),
    ...(discovery === undefined ? {} : { discovery: { found: discovery.found, unresolved: discovery.unresolved.slice(0, MAX_UNRESOLVED_LINES) } }),
  };
}

function servedCondition(sorted: readonly EndpointResult[], served: number, discovery: EndpointsStatus["discovery"]): EndpointsStatus["condition"] {
  const worst = sorted[0];
  const total = sorted.length;
  // Discovery found nothing to probe (and nothing is listed): no verdict either way.
  if (worst === undefined) return { status: "Unknown", reason: "NoEndpoints", message: `no endpoint listed or discovered${discovery?.unresolved[0] === undefined ? "" : `; ${discovery.unresolved[0]}`}` };
  if (worst.judgement.state === "Served") return { status: "True", reason: "AllServed", message: `${String(total)} of ${String(total)} endpoints serve the current staple` };
  const { state } = worst.judgement;
  const counts = `${String(served)} of ${String(total)} endpoints serve the current staple`;
  if (state === "Pending") return { status: "Unknown", reason: "Pending", message: `${counts}; the others are not probed yet` };
  return { status: "False", reason: state, message: `${counts}; ${name(worst)}: ${state}: ${worst.judgement.message}` };
}

function rank(result: EndpointResult): number {
  return stateRank(result.judgement.state);
}

function name(result: EndpointResult): string {
  const { address, serverName } = result.target.endpoint;
  return serverName === undefined ? address : `${address} (${serverName})`;
}

function entryOf(result: EndpointResult): EndpointStatusEntry {
  const { address, serverName } = result.target.endpoint;
  const { state, message, servedThisUpdateMs } = result.judgement;
  return {
    address,
    ...(serverName === undefined ? {} : { serverName }),
    ...(result.secret === undefined ? {} : { secret: result.secret }),
    state, message,
    ...(servedThisUpdateMs === undefined ? {} : { servedThisUpdate: rfc3339(servedThisUpdateMs) }),
    since: rfc3339(result.sinceMs),
  };
}

