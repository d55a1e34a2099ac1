import { ENDPOINT_STATES, stateRank, type EndpointState } from "../probe/endpoint-state.ts";
import { MAX_ENDPOINT_ENTRIES } from "../probe/endpoint-status.ts";

/**
 * What the probed endpoints that name one Secret serve, as the StapleConfig's
 * `status.endpoints` last recorded: the SERVED column. Only endpoints whose
 * entry names the Secret count (an entry without `secret` served a
 * certificate no selected Secret has, so it is no row's).
 */
export interface ServedSummary {
  /** Endpoints whose status entry names this Secret. */
  readonly endpoints: number;
  /** Of those, the ones in state Served. */
  readonly served: number;
  /** The worst state among the others (first in ENDPOINT_STATES); absent when all are Served. */
  readonly worst?: EndpointState;
}

/** The status lists at most this many endpoints, failing first (the CRD's maxItems). */
export const ENDPOINT_LIST_LIMIT = MAX_ENDPOINT_ENTRIES;

/** Each Secret named by an entry of a raw `status.endpoints`, with its summary; entries of an unknown state are skipped. */
export function servedBySecret(rawEndpoints: unknown): Map<string, ServedSummary> {
  const summaries = new Map<string, ServedSummary>();
  if (!Array.isArray(rawEndpoints)) return summaries;
  for (const entry of rawEndpoints as ({ secret?: unknown; state?: unknown } | null)[]) {
    const state = ENDPOINT_STATES.find((known) => known === entry?.state);
    if (typeof entry?.secret !== "string" || entry.secret === "" || state === undefined) continue;
    const before = summaries.get(entry.secret) ?? { endpoints: 0, served: 0 };
    const worst = state === "Served" ? before.worst : worseOf(before.worst, state);
    summaries.set(entry.secret, { endpoints: before.endpoints + 1, served: before.served + (state === "Served" ? 1 : 0), ...(worst === undefined ? {} : { worst }) });
  }
  return summaries;
}

/** The SERVED cell: "-" when no endpoint names the Secret, else "served/endpoints" and the worst other state. */
export function servedText(summary: ServedSummary | undefined): string {
  if (summary === undefined) return "-";
  const counts = `${summary.served}/${summary.endpoints}`;
  return summary.worst === undefined ? counts : `${counts} ${summary.worst}`;
}

function worseOf(a: EndpointState | undefined, b: EndpointState): EndpointState {
  return a === undefined || stateRank(b) < stateRank(a) ? b : a;
}
