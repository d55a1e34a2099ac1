import { rfc3339 } from "../kube/rfc3339.ts";
import { mustStapleUnstapled } from "../staple/plan.ts";
import type { ConditionReason } from "../staple/reasons.ts";
import type { ChainElementState, SecretState } from "../staple/secret-state.ts";
import type { EndpointsStatus, EndpointStatusEntry } from "../probe/endpoint-status.ts";

/** The status subresource of a StapleConfig, as the CRD defines it. */
export interface StapleConfigStatus {
  readonly observedGeneration: number;
  readonly conditions: readonly Condition[];
  readonly selected: number;
  readonly stapled: number;
  readonly revoked: number;
  readonly failing: number;
  /** Selected Secrets whose certificate names no OCSP responder (CRL-only): not failing unless must-staple. Absent when none. */
  readonly noResponder?: number;
  /** Selected must-staple Secrets without a staple (failing, or withdrawn): critical. Absent when none. */
  readonly mustStapleUnstapled?: number;
  readonly nextRefresh?: string;
  readonly secrets: readonly SecretStatusEntry[];
  /** With spec.probe endpoints: how many serve the current staple, and the last probe of each (at most 20). */
  readonly endpointsServed?: number;
  readonly endpoints?: readonly EndpointStatusEntry[];
  readonly discovery?: EndpointsStatus["discovery"];
}

/**
 * One entry of `status.secrets` (CRD: failing first, then by name; at most
 * 50): a Secret's state as the CRD shows it, times as RFC 3339 without
 * fractions, and `Conflict` for a Secret an older config owns.
 */
export interface SecretStatusEntry extends Pick<SecretState, "name" | "serial" | "certStatus" | "staple" | "mustStaple" | "notice"> {
  readonly thisUpdate?: string;
  readonly nextUpdate?: string;
  readonly nextRefresh?: string;
  readonly error?: { readonly code: ConditionReason; readonly message: string };
  /** `chain: Full`: the intermediates, in served order. */
  readonly chain?: readonly ChainStatusEntry[];
  readonly chainError?: SecretState["chainError"];
}

/** One intermediate of a `chain: Full` entry: its staple's answer, or why it has none. */
export interface ChainStatusEntry extends Pick<ChainElementState, "subject" | "serial" | "certStatus" | "notice"> {
  readonly nextUpdate?: string;
  readonly error?: { readonly code: ConditionReason; readonly message: string };
}

export interface Condition {
  readonly type: "Ready" | "Degraded" | "Served";
  readonly status: "True" | "False" | "Unknown";
  readonly reason: ConditionReason;
  readonly message: string;
  readonly observedGeneration: number;
  readonly lastTransitionTime: string;
}

const MAX_SECRET_ENTRIES = 50;

/**
 * The status a config should have, from the states of the Secrets it owns and
 * the names of those it selects but another, older config owns (Conflict).
 * Pure; `previous` only supplies lastTransitionTime for conditions that did
 * not change (metav1.Condition semantics).
 */
export function computeStatus(generation: number, owned: readonly SecretState[], conflicts: readonly string[], previous: unknown, now: Date, endpoints?: EndpointsStatus): StapleConfigStatus {
  const failingStates = owned.filter((state) => state.error !== undefined);
  const stapled = owned.filter((state) => state.staple !== undefined).length;
  const chainProblem = firstChainProblem(owned);
  const unstapledMustStaple = owned.filter(mustStapleUnstapled);
  const firstProblem = unstapledMustStaple.length > 0 ? "MustStapleUnstapled" : failingStates[0]?.error?.code ?? (conflicts.length > 0 ? "Conflict" : chainProblem?.reason);
  let nextRefresh = Number.POSITIVE_INFINITY;
  for (const state of owned) nextRefresh = Math.min(nextRefresh, nextCheckOf(state) ?? Number.POSITIVE_INFINITY);
  // A certificate without a responder (and not must-staple) has nothing to staple: expected, so it keeps no config from Ready.
  const noResponder = owned.filter((state) => state.noResponder === true).length;
  const nothingToStaple = owned.filter((state) => state.noResponder === true && state.error === undefined && state.staple === undefined).length;
  const ready = stapled + nothingToStaple === owned.length && conflicts.length === 0;
  const crlOnly = nothingToStaple === 0 ? "" : `; ${nothingToStaple} name no OCSP responder (CRL-only: nothing to staple)`;
  const mustStapleNote = unstapledMustStaple.length === 0 ? "" : `${unstapledMustStaple.length} must-staple Secrets have no staple (browsers that enforce must-staple refuse them), first ${unstapledMustStaple.map((state) => state.name).sort()[0] ?? ""}; `;
  const conditions: Condition[] = [
    condition("Ready", ready, ready ? (owned.length === 0 ? "NothingSelected" : "AllStapled") : (firstProblem ?? "Pending"),
      ready ? `${stapled} of ${owned.length} selected Secrets have a verified staple${crlOnly}` : `${owned.length - stapled} of ${owned.length} selected Secrets have no staple${crlOnly}${conflicts.length > 0 ? `; ${conflicts.length} selected Secrets belong to an older StapleConfig` : ""}`),
    condition("Degraded", firstProblem !== undefined, firstProblem ?? "AsExpected",
      firstProblem === undefined ? `every fetch succeeded${crlOnly}` : `${mustStapleNote}${failingStates.length} Secrets failing, ${conflicts.length} in conflict${chainProblem === undefined ? "" : `; ${chainProblem.message}`}`),
    // Served only with endpoints to probe: without, there is nothing it could say.
    ...(endpoints === undefined ? [] : [{ type: "Served" as const, ...endpoints.condition }]),
  ].map((entry) => ({ ...entry, observedGeneration: generation, lastTransitionTime: transitionTime(entry, previous, now) }));
  return {
    observedGeneration: generation,
    conditions,
    selected: owned.length,
    stapled,
    revoked: owned.filter((state) => state.certStatus === "Revoked").length,
    failing: failingStates.length,
    ...(noResponder === 0 ? {} : { noResponder }),
    ...(unstapledMustStaple.length === 0 ? {} : { mustStapleUnstapled: unstapledMustStaple.length }),
    ...(nextRefresh === Number.POSITIVE_INFINITY ? {} : { nextRefresh: rfc3339(nextRefresh) }),
    secrets: listedEntries(owned, conflicts),
    ...(endpoints === undefined ? {} : { endpointsServed: endpoints.served, endpoints: endpoints.entries }),
    ...(endpoints?.discovery === undefined ? {} : { discovery: endpoints.discovery }),
  };
}

/**
 * The entries the status lists: failing Secrets first (errors and
 * conflicts), then the others, each group by name, at most
 * MAX_SECRET_ENTRIES. Only those are built: sorting 10,000 entries to keep 50
 * made every status write of a large fleet cost a full sort.
 */
function listedEntries(owned: readonly SecretState[], conflicts: readonly string[]): SecretStatusEntry[] {
  const failing = [
    ...owned.filter((state) => state.error !== undefined).map(entryOf),
    ...conflicts.map((name): SecretStatusEntry => ({ name, error: { code: "Conflict", message: "selected by an older StapleConfig, which owns it" } })),
  ];
  const listedFailing = firstByName(failing, MAX_SECRET_ENTRIES);
  const others = firstByName(owned.filter((state) => state.error === undefined), MAX_SECRET_ENTRIES - listedFailing.length);
  return [...listedFailing, ...others.map(entryOf)];
}

/** The first `count` items in name order, without sorting all of them (a bounded insertion). */
function firstByName<T extends { readonly name: string }>(items: readonly T[], count: number): T[] {
  const byName = (a: T, b: T) => a.name.localeCompare(b.name);
  if (count <= 0) return [];
  if (items.length <= count) return [...items].sort(byName);
  const first: T[] = [];
  for (const item of items) {
    if (first.length === count && byName(item, first[count - 1] as T) >= 0) continue;
    let at = first.length;
    while (at > 0 && byName(item, first[at - 1] as T) < 0) at--;
    first.splice(at, 0, item);
    if (first.length > count) first.pop();
  }
  return first;
}

function condition(type: Condition["type"], isTrue: boolean, reason: ConditionReason, message: string): Omit<Condition, "observedGeneration" | "lastTransitionTime"> {
  return { type, status: isTrue ? "True" : "False", reason, message };
}

function transitionTime(entry: Pick<Condition, "type" | "status">, previous: unknown, now: Date): string {
  const conditions = (previous as { conditions?: unknown } | undefined)?.conditions;
  const before = Array.isArray(conditions) ? (conditions as Partial<Condition>[]).find((candidate) => candidate.type === entry.type) : undefined;
  return before?.status === entry.status && typeof before.lastTransitionTime === "string" ? before.lastTransitionTime : rfc3339(now.getTime());
}

function entryOf(state: SecretState): SecretStatusEntry {
  const { name, serial, certStatus, thisUpdateMs, nextUpdateMs, staple, error, chain, chainError, mustStaple, notice } = state;
  const nextCheckAtMs = nextCheckOf(state);
  return {
    name,
    ...(serial === undefined ? {} : { serial }),
    ...(certStatus === undefined ? {} : { certStatus }),
    ...(thisUpdateMs === undefined ? {} : { thisUpdate: rfc3339(thisUpdateMs) }),
    ...(nextUpdateMs === undefined ? {} : { nextUpdate: rfc3339(nextUpdateMs) }),
    ...(nextCheckAtMs === undefined ? {} : { nextRefresh: rfc3339(nextCheckAtMs) }),
    ...(staple === undefined ? {} : { staple }),
    ...(error === undefined ? {} : { error }),
    ...(notice === undefined ? {} : { notice }),
    ...(mustStaple === undefined ? {} : { mustStaple }),
    ...(chain === undefined ? {} : { chain: chain.map(chainEntryOf) }),
    ...(chainError === undefined ? {} : { chainError }),
  };
}

/** When the Secret is looked at next: its leaf's schedule, or an intermediate's if sooner (`chain: Full`). */
function nextCheckOf(state: SecretState): number | undefined {
  const checks = [state.nextCheckAtMs, ...(state.chain ?? []).map((element) => element.checkAtMs)].filter((time): time is number => time !== undefined);
  return checks.length === 0 ? undefined : Math.min(...checks);
}

/**
 * The first chain refused as a whole, or intermediate that is revoked or
 * failing (`chain: Full`), named:
 * the leaf may be stapled and Ready true, but a revoked intermediate or one
 * without a staple is something to look at (Degraded).
 */
function firstChainProblem(owned: readonly SecretState[]): { reason: ConditionReason; message: string } | undefined {
  for (const state of owned) {
    if (state.chainError !== undefined) return { reason: state.chainError.code, message: `the chain of Secret ${state.name} was refused: ${state.chainError.message}` };
    for (const element of state.chain ?? []) {
      if (element.certStatus === "Revoked") return { reason: "Revoked", message: `intermediate "${element.subject}" (serial ${element.serial}) of Secret ${state.name} is revoked` };
      if (element.error !== undefined) return { reason: element.error.code, message: `intermediate "${element.subject}" of Secret ${state.name}: ${element.error.code}: ${element.error.message}` };
    }
  }
  return undefined;
}

function chainEntryOf(element: ChainElementState): ChainStatusEntry {
  const { subject, serial, certStatus, nextUpdateMs, error, notice } = element;
  return {
    subject, serial,
    ...(certStatus === undefined ? {} : { certStatus }),
    ...(nextUpdateMs === undefined ? {} : { nextUpdate: rfc3339(nextUpdateMs) }),
    ...(error === undefined ? {} : { error }),
    ...(notice === undefined ? {} : { notice }),
  };
}


/** Whether `status` says something `previous` does not (key order ignored). */
export function statusChanged(status: StapleConfigStatus, previous: unknown): boolean {
  return canonical(status) !== canonical(previous);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, entry: unknown) =>
    entry !== null && typeof entry === "object" && !Array.isArray(entry) ? Object.fromEntries(Object.entries(entry).sort(([a], [b]) => a.localeCompare(b))) : entry);
}
