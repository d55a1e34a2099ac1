import { bundleKey, chainDerivedKeys, chainKeyCollisions } from "../kube/chain-keys.ts";
import type { OcspErrorCode } from "../ocsp/error-codes.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import { consumerRejection, profilesFor, type Consumer } from "./consumer-profile.ts";
import { decide, type CurrentStaple, type Decision, type FetchOutcome } from "./decide.ts";
import { leafOutsideValidity, type LeafOutsideValidity } from "./leaf-validity.ts";
import type { EventReason, WriteRefusalReason } from "./reasons.ts";
import type { Random, RefreshPolicy } from "./refresh-policy.ts";
import { refreshAt, retryDelayMs } from "./refresh-schedule.ts";
import { retryDelayFor } from "./retry-delay.ts";
import { scheduleBasis } from "./schedule-basis.ts";
import type { SecretState } from "./secret-state.ts";

/**
 * The whole reconcile of one TLS Secret as a pure function (DESIGN.md: facts,
 * staple in place, fetch outcome, config, now → a plan). The reconciler
 * gathers the facts, asks for a plan, runs its actions in order, does the one
 * piece of I/O the plan's `next` asks for (a fetch, a write, an existence
 * check), and asks again with the outcome, until the plan is `done`. Every
 * decision — what to clean up, whether a fetch is due, what to write or
 * withdraw, when to look again, the status entry, the Events — is made here,
 * and table-tested without an API server (test/staple/plan.test.ts).
 */

/** The TLS Secret as the cache shows it (undefined: deleted). */
export interface SecretFacts {
  readonly name: string;
  /** Names of the companion Secrets whose source is this Secret. */
  readonly companions: readonly string[];
  /** Our keys in the TLS Secret itself (InPlace), when it holds any. */
  readonly inPlaceKeys: readonly string[] | undefined;
  readonly immutable: boolean;
}

/** The StapleConfig that owns the Secret (the oldest selecting one), as the plan needs it. */
export interface OwnerFacts {
  /** namespace/name: the status entry's `config`. */
  readonly key: string;
  readonly uid: string;
  readonly generation: number;
  readonly mode: "Companion" | "InPlace";
  readonly keys: readonly string[];
  /** The Secret that holds (or would hold) the staple: the companion's name, or the TLS Secret's own. */
  readonly holder: string;
  readonly policy: RefreshPolicy;
  /** `spec.chain`; absent means Leaf. The leaf's plan is the same for both, except that colliding keys refuse Full. */
  readonly chain?: "Leaf" | "Full";
  /** `spec.target.consumer`; absent means Auto (derived from `keys`). */
  readonly consumer?: Consumer;
}

/** tls.crt read and its issuer found, or why not. */
export type ChainFacts =
  | {
      readonly kind: "read"; readonly leafSha256: string; readonly notBefore: Date; readonly notAfter: Date;
      /** The leaf is must-staple (TLS Feature status_request, RFC 7633). */
      readonly mustStaple?: boolean;
      /** The leaf names no OCSP responder and the config sets no urlOverride: nothing can be fetched. */
      readonly noResponder?: boolean;
    }
  | { readonly kind: "unreadable"; readonly code: OcspErrorCode; readonly message: string };

/** The staple in its holder now. */
export interface StapleInPlace {
  /** The leaf it was written for (annotation `cert-sha256`); "" when the holder does not say. */
  readonly certificateSha256: string;
  /** It re-verified now against the Secret's leaf; undefined when it does not (expired, another certificate). */
  readonly verified: VerifiedResponse | undefined;
}

export interface PlanFacts {
  readonly secret: SecretFacts | undefined;
  /** Gathered only for a Secret some config owns. */
  readonly owner: { readonly config: OwnerFacts; readonly chain: ChainFacts; readonly stored: StapleInPlace | undefined } | undefined;
  /** What the last reconcile of this Secret left (status entry and schedule). */
  readonly previous: SecretState | undefined;
  readonly now: Date;
  /** The jitter of retry backoffs (a refresh's is the staple's own: refreshJitter). */
  readonly random: Random;
}

/** Where the reconcile is: the I/O the last plan asked for, and what came of it. */
export type Progress =
  | { readonly step: "start" }
  | { readonly step: "checkedExists"; readonly exists: boolean }
  | { readonly step: "fetched"; readonly outcome: FetchOutcome; readonly message?: string }
  | { readonly step: "wrote"; readonly write: WriteStaple; readonly result: WriteResult };

export type WriteResult =
  | { readonly result: "written" | "unchanged" | "stale" }
  | { readonly result: "conflict"; readonly reason: WriteRefusalReason; readonly message: string };

export interface PlannedEvent {
  readonly type: "Normal" | "Warning";
  readonly reason: EventReason;
  readonly message: string;
}

export interface PlannedLog {
  readonly level: "info" | "warn";
  readonly message: string;
  readonly fields?: Readonly<Record<string, string | number | undefined>>;
}

/**
 * API actions, run in order before `next`. Events and logs attached to an
 * action are recorded only if the action changed something (a removal that
 * found the Secret already changed records nothing).
 */
export type Action =
  | { readonly kind: "deleteCompanion"; readonly name: string }
  /** Our keys out of the TLS Secret: no InPlace config asks for them (any more, or not these). */
  | { readonly kind: "removeInPlaceKeys"; readonly log: PlannedLog }
  /** The staple out of its holder (the owner's store). */
  | { readonly kind: "removeStaple"; readonly event?: PlannedEvent; readonly log: PlannedLog };

export interface WriteStaple {
  readonly kind: "write";
  readonly response: VerifiedResponse;
  readonly reason: "Stapled" | "Revoked";
  readonly nextCheckAt: Date;
}

export type Next =
  /** Our staple vanished from the cache: GET the Secret (gone with its Secret, or deleted by someone?). */
  | { readonly kind: "checkExists" }
  /** Fetch a fresh response; `meanwhile` is the status entry while it runs. */
  | { readonly kind: "fetch"; readonly meanwhile?: SecretState }
  | WriteStaple
  | Done;

export interface Done {
  readonly kind: "done";
  /** The Secret's new entry; "forget" drops it (deleted, or no config selects it); "unchanged" leaves it. */
  readonly state: SecretState | "forget" | "unchanged";
  readonly events: readonly PlannedEvent[];
  readonly log?: PlannedLog;
  /** Look again then; nothing means only when something changes. */
  readonly recheckAt?: Date;
  /** StapleConfigs whose status may have changed. */
  readonly touchedConfigs: readonly string[];
}

export interface Plan {
  readonly actions: readonly Action[];
  readonly next: Next;
}

/** An InPlace write refused because the TLS Secret changed meanwhile: look again this soon (its update event usually comes first). */
export const STALE_RETRY_MS = 1_000;
/** Less than this left on a staple in place while fetches fail: warn with StapleExpiring. */
export const EXPIRING_WARNING_MS = 24 * 3_600_000;

export function planReconcile(facts: PlanFacts, progress: Progress): Plan {
  return withMustStaple(facts, planStep(facts, progress));
}

function planStep(facts: PlanFacts, progress: Progress): Plan {
  const touched = touchedConfigs(facts);
  if (facts.secret === undefined) return { actions: [], next: done("forget", touched) };
  if (progress.step === "start") {
    const cleanup = cleanupActions(facts.secret, facts.owner?.config);
    // A removal of our keys changes the TLS Secret, whose update event brings it back here.
    if (cleanup.some((action) => action.kind === "removeInPlaceKeys")) return { actions: cleanup, next: done("unchanged", touched) };
    const plan = planOwned(facts, touched);
    return { actions: [...cleanup, ...plan.actions], next: plan.next };
  }
  const owned = ownedFacts(facts);
  if (owned === undefined) return { actions: [], next: done("forget", touched) };
  if (progress.step === "checkedExists") return progress.exists ? beforeFetch(owned) : { actions: [], next: done("unchanged", touched) };
  if (progress.step === "fetched") return afterFetch(owned, progress.outcome, progress.message);
  return afterWrite(owned, progress.write, progress.result);
}

/** The owned Secret's facts, with what every later step derives from them. */
interface Owned {
  readonly facts: PlanFacts;
  readonly name: string;
  readonly config: OwnerFacts;
  readonly leafSha256: string;
  readonly leafNotAfter: Date;
  readonly stored: StapleInPlace | undefined;
  readonly current: CurrentStaple | undefined;
  /** What the schedule is computed from: the certificate and the config's spec (scheduleBasis). */
  readonly basis: string;
  readonly touched: readonly string[];
}

function ownedFacts(facts: PlanFacts): Owned | undefined {
  const { secret, owner } = facts;
  if (secret === undefined || owner === undefined || owner.chain.kind !== "read") return undefined;
  return {
    facts, name: secret.name, config: owner.config, leafSha256: owner.chain.leafSha256, leafNotAfter: owner.chain.notAfter, stored: owner.stored,
    current: currentStaple(owner.stored), basis: scheduleBasis(owner.chain.leafSha256, owner.config.uid, owner.config.generation),
    touched: touchedConfigs(facts),
  };
}

/** Companions under a name nobody wants, and InPlace keys nobody (or no longer these) asks for. */
function cleanupActions(secret: SecretFacts, owner: OwnerFacts | undefined): Action[] {
  const keep = owner?.mode === "Companion" ? owner.holder : undefined;
  const actions: Action[] = secret.companions.filter((name) => name !== keep).map((name) => ({ kind: "deleteCompanion", name }));
  // An immutable Secret cannot lose them: they stay, like every other key in it.
  if (secret.inPlaceKeys !== undefined && !secret.immutable && !(owner?.mode === "InPlace" && listsLeafKeys(secret.inPlaceKeys, owner.keys))) {
    actions.push({ kind: "removeInPlaceKeys", log: { level: "info", message: "in-place staple removed: no StapleConfig asks for it" } });
  }
  return actions;
}

/**
 * Whether the staple-keys annotation lists the config's keys, in order, and
 * besides them only keys a `chain: Full` derives from them: chain keys left
 * after a return to `chain: Leaf` are the chain keeper's to remove (the
 * leaf's staple stays), not a reason to take everything out.
 */
function listsLeafKeys(listed: readonly string[], keys: readonly string[]): boolean {
  if (listed.slice(0, keys.length).join(",") !== keys.join(",")) return false;
  const derived = new Set(chainDerivedKeys(keys));
  return listed.slice(keys.length).every((key) => derived.has(key));
}

/** From the start: no owner, an unreadable chain, a leaf outside its validity, a schedule not yet due, or on to fetch. */
function planOwned(facts: PlanFacts, touched: readonly string[]): Plan {
  const { owner, previous, now } = facts;
  if (owner === undefined) return { actions: [], next: done("forget", touched) };
  const name = facts.secret?.name ?? "";
  const refusal = chainRefusal(owner.config);
  if (refusal !== undefined) return refusedChain(owner.config, owner.stored, name, touched, refusal);
  if (owner.chain.kind === "unreadable") return unreadableChain(facts, owner.config, owner.chain, name, touched);
  const invalid = leafOutsideValidity(owner.chain, now);
  const owned = ownedFacts(facts);
  if (owned === undefined) return { actions: [], next: done("forget", touched) };
  if (invalid !== undefined) return invalidLeaf(owned, invalid);
  if (owner.chain.noResponder === true) return noResponder(owned, owner.chain.mustStaple === true);
  const sameBasis = previous?.basis === owned.basis ? previous : undefined;
  const due = dueAt(sameBasis, owned, now);
  if (due !== undefined && due > now) {
    return { actions: [], next: finish({ state: { ...(sameBasis ?? restartState(owned)), nextCheckAtMs: due.getTime(), basis: owned.basis }, events: [], recheckAt: due, touchedConfigs: touched }) };
  }
  // The staple we wrote is gone: deleted by someone (write it again), or collected with its Secret while
  // this cache has not seen that deletion yet (write nothing: the deletion event comes next).
  if (previous?.staple !== undefined && owned.stored === undefined) return { actions: [], next: { kind: "checkExists" } };
  return beforeFetch(owned);
}

/** What a leaf without an OCSP responder tells the user (status entry, Event). */
export const NO_RESPONDER_MESSAGE = "the certificate names no OCSP responder (no AIA OCSP URL): its CA publishes none, so revocation is CRL-only and there is nothing to staple";

/**
 * A leaf that names no OCSP responder, with no urlOverride: public CAs are
 * turning OCSP off, so this is expected, not a failure — reported in the
 * entry (`notice`) and counted (`status.noResponder`), with one Normal Event.
 * A must-staple leaf is the exception: without a staple, browsers that
 * enforce must-staple refuse it, so it fails (`error`, Degraded) and is
 * flagged MustStapleUnstapled (withMustStaple). Nothing is fetched, and no
 * retry is scheduled: a certificate's AIA never changes, so only a change of
 * the Secret (a new certificate) or of the config (a urlOverride) can mend
 * it, and both requeue the Secret. A staple in place (fetched through a
 * urlOverride since removed) goes: nothing would refresh it.
 */
function noResponder(owned: Owned, mustStaple: boolean): Plan {
  const { config, facts } = owned;
  const actions: Action[] = owned.stored === undefined ? [] : [{
    kind: "removeStaple",
    event: { type: "Warning", reason: "StapleWithdrawn", message: `Removed the staple from ${config.holder}: ${NO_RESPONDER_MESSAGE}, so nothing would refresh it` },
    log: { level: "warn", message: "staple withdrawn", fields: { reason: "NoResponderURL" } },
  }];
  const message = mustStaple
    ? `${NO_RESPONDER_MESSAGE}; the certificate is must-staple, so browsers that enforce must-staple refuse it: reissue it without must-staple (or from a CA with OCSP), or set spec.responder.urlOverride`
    : `${NO_RESPONDER_MESSAGE}; expected, as the certificate is not must-staple`;
  const reported = facts.previous?.noResponder === true;
  const finding = { code: "NoResponderURL", message } as const;
  return {
    actions,
    next: finish({
      state: { config: config.key, name: owned.name, failures: 0, basis: owned.basis, noResponder: true, ...(mustStaple ? { error: finding } : { notice: finding }) },
      // A must-staple leaf's Event is MustStapleUnstapled (withMustStaple).
      events: reported || mustStaple ? [] : [{ type: "Normal", reason: "NoResponderURL", message }],
      ...(reported ? {} : { log: { level: mustStaple ? "warn" : "info", message, fields: { reason: "NoResponderURL" } } }),
      touchedConfigs: owned.touched,
    }),
  };
}

/** Whether an entry describes a must-staple certificate that has no staple in place and cannot get one now (a failure, or withdrawn). */
export function mustStapleUnstapled(state: SecretState): boolean {
  return state.mustStaple === true && state.staple === undefined && state.error !== undefined;
}

/**
 * Marks the entries of a must-staple leaf (`mustStaple`), and sends one
 * Warning Event, MustStapleUnstapled, when such a Secret becomes unstapled
 * (it fails with no staple in place, or its staple was withdrawn): browsers
 * that enforce must-staple refuse the certificate from then on.
 */
function withMustStaple(facts: PlanFacts, plan: Plan): Plan {
  const chain = facts.owner?.chain;
  if (chain?.kind !== "read" || chain.mustStaple !== true) return plan;
  const { next } = plan;
  if (next.kind === "fetch") return next.meanwhile === undefined ? plan : { ...plan, next: { ...next, meanwhile: { ...next.meanwhile, mustStaple: true } } };
  if (next.kind !== "done" || typeof next.state !== "object") return plan;
  const state: SecretState = { ...next.state, mustStaple: true };
  if (!mustStapleUnstapled(state) || (facts.previous !== undefined && mustStapleUnstapled(facts.previous))) return { ...plan, next: { ...next, state } };
  const event: PlannedEvent = {
    type: "Warning", reason: "MustStapleUnstapled",
    message: `The certificate is must-staple (TLS Feature status_request) and has no staple: browsers that enforce must-staple refuse it (${state.error?.code ?? ""}: ${state.error?.message ?? ""})`,
  };
  return { ...plan, next: { ...next, state, events: [...next.events, event] } };
}

/** A status entry's error. */
type StapleError = NonNullable<SecretState["error"]>;

/** Why a `chain: Full` config cannot be honoured for any Secret, if it cannot. */
function chainRefusal(config: OwnerFacts): StapleError | undefined {
  if (config.chain !== "Full") return undefined;
  const collisions = chainKeyCollisions(config.keys);
  if (collisions.length > 0) {
    return { code: "ChainKeyCollision", message: `chain: Full would overwrite target key(s) ${collisions.join(", ")} with an intermediate's staple (<key>.<n>) or the bundle (${bundleKey(config.keys)}); rename or remove them` };
  }
  return undefined;
}

/**
 * A `chain: Full` config that cannot be honoured: refused in the status,
 * rather than stapling the leaf alone as if `Full` had been honoured, or
 * overwriting a key the user listed. Nothing is fetched; editing the config
 * requeues it. A staple already in place (the config was Leaf before) goes:
 * nothing would refresh it, and it must never be served past its usable end.
 */
function refusedChain(config: OwnerFacts, stored: StapleInPlace | undefined, name: string, touched: readonly string[], error: StapleError): Plan {
  const actions: Action[] = stored === undefined ? [] : [{
    kind: "removeStaple",
    event: { type: "Warning", reason: "StapleWithdrawn", message: `Removed the staple from ${config.holder}: ${error.message}, so nothing would refresh it` },
    log: { level: "warn", message: "staple withdrawn", fields: { reason: error.code } },
  }];
  return { actions, next: finish({ state: { config: config.key, name, failures: 0, error }, events: [], touchedConfigs: touched }) };
}

/**
 * An expired leaf, or one not valid yet: never fetched for; a staple in place
 * goes (its usable end is at most the leaf's notAfter); one Warning Event per
 * streak; looked at again at the notBefore of a leaf not valid yet.
 */
function invalidLeaf(owned: Owned, invalid: LeafOutsideValidity): Plan {
  const { config, facts } = owned;
  const actions: Action[] = owned.stored === undefined ? [] : [{
    kind: "removeStaple",
    event: { type: "Warning", reason: "StapleWithdrawn", message: `Removed the staple from ${config.holder}: ${invalid.message}` },
    log: { level: "warn", message: "staple withdrawn", fields: { reason: invalid.reason } },
  }];
  const reported = facts.previous?.error?.code === invalid.reason;
  const recheck = invalid.recheckAt === undefined ? {} : { recheckAt: invalid.recheckAt };
  return {
    actions,
    next: finish({
      state: { config: config.key, name: owned.name, failures: 0, error: { code: invalid.reason, message: invalid.message }, ...(invalid.recheckAt === undefined ? {} : { nextCheckAtMs: invalid.recheckAt.getTime() }) },
      events: reported ? [] : [{ type: "Warning", reason: invalid.reason, message: invalid.message }],
      ...(reported ? {} : { log: { level: "warn", message: invalid.message, fields: { reason: invalid.reason } } }),
      ...recheck,
      touchedConfigs: owned.touched,
    }),
  };
}

/**
 * A tls.crt that cannot be read, or whose issuer cannot be found: looked at
 * again with the config's backoff (an AIA download may fail for now), at its
 * longest for what only a change can mend (a bad certificate, whose Secret's
 * update requeues it anyway).
 */
function unreadableChain(facts: PlanFacts, config: OwnerFacts, chain: Extract<ChainFacts, { kind: "unreadable" }>, name: string, touched: readonly string[]): Plan {
  const failures = (facts.previous?.failures ?? 0) + 1;
  const recheckAt = new Date(facts.now.getTime() + retryDelayFor(chain.code, failures, config.policy, facts.random));
  return {
    actions: [],
    next: finish({ state: { config: config.key, name, failures, error: { code: chain.code, message: chain.message }, nextCheckAtMs: recheckAt.getTime() }, events: [], recheckAt, touchedConfigs: touched }),
  };
}

/**
 * An InPlace staple for the previous certificate goes before the (possibly
 * slow) fetch of a new one: Envoy refuses a TLS context whose staple does not
 * match its certificate, so a stale staple would block the renewal itself.
 */
function beforeFetch(owned: Owned): Plan {
  if (!rotatedInPlace(owned)) return { actions: [], next: { kind: "fetch" } };
  return {
    actions: [{ kind: "removeStaple", log: { level: "info", message: "staple for the previous certificate removed" } }],
    // The status must not describe the removed staple while the new one is fetched.
    next: { kind: "fetch", meanwhile: { config: owned.config.key, name: owned.name, failures: owned.facts.previous?.failures ?? 0, basis: owned.basis } },
  };
}

function rotatedInPlace(owned: Owned): boolean {
  return owned.config.mode === "InPlace" && owned.current !== undefined && owned.current.certificateSha256 !== owned.leafSha256;
}

/**
 * The staple policy (decide) on this fetch's outcome; a write is planned as
 * `next`, keep and withdraw end here. A response decide would write but a
 * consumer of the target would refuse (consumer-profile.ts) is decided again
 * as a failure, `ConsumerWouldReject`: the staple in place stays until its
 * usable end, as when the responder fails, and the fetch is retried with the
 * config's backoff (the responder may answer differently, or the config change).
 */
function afterFetch(owned: Owned, outcome: FetchOutcome, message: string | undefined): Plan {
  const { facts } = owned;
  // Removed before the fetch (beforeFetch): nothing in place any more.
  const current = rotatedInPlace(owned) ? undefined : owned.current;
  const decideOn = (fetched: FetchOutcome) => decide({
    certificateSha256: owned.leafSha256, ...(current === undefined ? {} : { current }), outcome: fetched,
    failuresBefore: facts.previous?.failures ?? 0, now: facts.now, policy: owned.config.policy, random: facts.random,
  });
  const decision = decideOn(outcome);
  if (decision.action !== "write") return notRefreshed(owned, current, decision, message ?? decision.reason);
  const profiles = profilesFor(owned.config.consumer ?? "Auto", owned.config.keys, owned.config.chain ?? "Leaf");
  const rejection = consumerRejection(profiles, decision.response, { leafNotAfter: owned.leafNotAfter, now: facts.now });
  if (rejection === undefined) return { actions: [], next: { kind: "write", response: decision.response, reason: decision.reason, nextCheckAt: decision.nextCheckAt } };
  const refused = decideOn({ kind: "refused", reason: "ConsumerWouldReject" });
  if (refused.action === "write") throw new Error("afterFetch: a refused response was decided a write");
  return notRefreshed(owned, current, refused, rejection.message);
}

/** A failure, `unknown` or an older answer: the staple in place is kept (and described) or withdrawn. */
function notRefreshed(owned: Owned, current: CurrentStaple | undefined, decision: Exclude<Decision, { action: "write" }>, message: string): Plan {
  const { facts, config } = owned;
  const previous = facts.previous;
  const actions: Action[] = decision.action !== "withdraw" ? [] : [{
    kind: "removeStaple",
    event: { type: "Warning", reason: "StapleWithdrawn", message: `Removed the staple from ${config.holder}: ${decision.reason === "StapleExpired" ? "its usable window ended" : "the certificate changed"} and no fresh staple could be fetched (${decision.fetchReason})` },
    log: { level: "warn", message: "staple withdrawn", fields: { reason: decision.reason, fetchReason: decision.fetchReason } },
  }];
  const events: PlannedEvent[] = [];
  if (decision.failures === 1) events.push({ type: "Warning", reason: "FetchFailed", message: `${decision.reason}: ${message}` });
  const expiring = decision.action === "keep" && current !== undefined && current.usableUntil.getTime() - facts.now.getTime() < EXPIRING_WARNING_MS;
  if (expiring && previous?.expiringReported !== true) {
    events.push({ type: "Warning", reason: "StapleExpiring", message: `The staple in place ends at ${current.usableUntil.toISOString()} and cannot be refreshed (${decision.reason})` });
  }
  // A kept staple is still served: its description (and its expiry metric) stays, next to the error.
  const kept = decision.action === "keep" && current !== undefined && previous !== undefined ? keptStapleFields(previous) : {};
  return {
    actions,
    next: finish({
      state: {
        config: config.key, name: owned.name, nextCheckAtMs: decision.nextCheckAt.getTime(), basis: owned.basis, ...kept,
        failures: decision.failures, expiringReported: expiring || previous?.expiringReported === true, error: { code: decision.reason, message },
      },
      events,
      log: { level: "warn", message, fields: { reason: decision.reason, failures: decision.failures } },
      recheckAt: decision.nextCheckAt,
      touchedConfigs: owned.touched,
    }),
  };
}

function afterWrite(owned: Owned, write: WriteStaple, outcome: WriteResult): Plan {
  const { facts, config } = owned;
  const previous = facts.previous;
  const base = { config: config.key, name: owned.name, basis: owned.basis };
  if (outcome.result === "stale") {
    // The TLS Secret changed since it was read (a renewal?): its update event requeues it; this is a fallback.
    const recheckAt = new Date(facts.now.getTime() + STALE_RETRY_MS);
    const kept = owned.stored !== undefined && previous !== undefined ? keptStapleFields(previous) : {};
    return { actions: [], next: finish({ state: { ...base, ...kept, failures: previous?.failures ?? 0, nextCheckAtMs: recheckAt.getTime() }, events: [], recheckAt, touchedConfigs: owned.touched }) };
  }
  if (outcome.result === "conflict") {
    // Retried with backoff: the foreign Secret may be removed (we do not watch Secrets we do not manage),
    // or the rule that refused the write (RBAC, the admission policy's key list) may be changed.
    const failures = (previous?.failures ?? 0) + 1;
    const recheckAt = new Date(facts.now.getTime() + retryDelayMs(failures, config.policy, facts.random));
    return {
      actions: [],
      next: finish({
        state: { ...base, nextCheckAtMs: recheckAt.getTime(), failures, error: { code: outcome.reason, message: outcome.message } },
        events: [], log: { level: "warn", message: outcome.message, fields: { reason: outcome.reason } }, recheckAt, touchedConfigs: owned.touched,
      }),
    };
  }
  const state: SecretState = { ...base, nextCheckAtMs: write.nextCheckAt.getTime(), failures: 0, ...stapleFields(config.holder, write.response) };
  if (outcome.result === "unchanged") return { actions: [], next: finish({ state, events: [], recheckAt: write.nextCheckAt, touchedConfigs: owned.touched }) };
  return {
    actions: [],
    next: finish({
      state,
      events: routineRefresh(owned, write) ? [] : [writtenEvent(config.holder, write)],
      log: { level: "info", message: "staple written", fields: { reason: write.reason, serial: write.response.serial, thisUpdate: write.response.thisUpdate.toISOString() } },
      recheckAt: write.nextCheckAt,
      touchedConfigs: owned.touched,
    }),
  };
}

/**
 * Events mark transitions, not routine refreshes (1,000 Secrets refreshed
 * hourly would be 48,000 Events a day): the first staple (or the first after
 * a withdrawal or a new certificate), a recovery, a change of status.
 */
function routineRefresh(owned: Owned, write: WriteStaple): boolean {
  const previous = owned.facts.previous;
  const current = rotatedInPlace(owned) ? undefined : owned.current;
  return current !== undefined && current.certificateSha256 === owned.leafSha256 && (previous?.failures ?? 0) === 0
    && previous?.certStatus === (write.reason === "Revoked" ? "Revoked" : "Good");
}

function writtenEvent(holder: string, write: WriteStaple): PlannedEvent {
  const revoked = write.reason === "Revoked";
  return {
    type: revoked ? "Warning" : "Normal",
    reason: write.reason,
    message: `${revoked ? "Certificate revoked: stapled so clients fail closed" : "Stapled a verified good response"} (serial ${write.response.serial}) in ${holder}`,
  };
}

/** The staple in place as the policy compares it: a staple that no longer verifies is unusable (an empty window). */
function currentStaple(stored: StapleInPlace | undefined): CurrentStaple | undefined {
  if (stored === undefined) return undefined;
  const { verified, certificateSha256 } = stored;
  if (verified === undefined) return { thisUpdate: new Date(0), usableUntil: new Date(0), certificateSha256 };
  return { thisUpdate: verified.thisUpdate, usableUntil: verified.usableUntil, certificateSha256 };
}

/**
 * When the next fetch is due. A schedule made on the same basis holds
 * (refresh time, or backoff after a failure), unless the staple we wrote is
 * gone or no longer verifies (someone deleted or edited it). Without a
 * schedule (a restart, a new certificate, an edited config), a valid staple
 * in place sets it, so nothing is refetched early; otherwise it is due now.
 */
function dueAt(state: SecretState | undefined, owned: Owned, now: Date): Date | undefined {
  const { current } = owned;
  const stapleLost = state?.staple !== undefined && (current === undefined || current.usableUntil <= now);
  if (state?.nextCheckAtMs !== undefined && !stapleLost) return new Date(state.nextCheckAtMs);
  if (current === undefined || current.certificateSha256 !== owned.leafSha256 || current.usableUntil <= now) return undefined;
  return refreshAt(current, current.thisUpdate, owned.config.policy);
}

/** The entry of a Secret whose staple in place is still good, before any fetch (after a restart). */
function restartState(owned: Owned): SecretState {
  const verified = owned.stored?.verified;
  return {
    config: owned.config.key, name: owned.name, failures: 0,
    ...(owned.stored === undefined ? {} : verified === undefined ? { staple: owned.config.holder } : stapleFields(owned.config.holder, verified)),
  };
}

/** What an entry says about the staple in place: where it is and what it answers. */
function stapleFields(staple: string, response: VerifiedResponse): Pick<SecretState, "staple" | "serial" | "certStatus" | "thisUpdateMs" | "nextUpdateMs"> {
  const certStatus = response.certStatus.kind === "good" ? "Good" : response.certStatus.kind === "revoked" ? "Revoked" : "Unknown";
  return { staple, serial: response.serial, certStatus, thisUpdateMs: response.thisUpdate.getTime(), ...(response.nextUpdate === undefined ? {} : { nextUpdateMs: response.nextUpdate.getTime() }) };
}

/** The staple fields of the previous entry, carried over while a failing refresh keeps that staple. */
function keptStapleFields(previous: SecretState): Partial<SecretState> {
  if (previous.staple === undefined) return {};
  const { staple, serial, certStatus, thisUpdateMs, nextUpdateMs } = previous;
  return Object.fromEntries(Object.entries({ staple, serial, certStatus, thisUpdateMs, nextUpdateMs }).filter(([, value]) => value !== undefined));
}

/** The configs whose status may change: the one the Secret belonged to, and its owner now. */
export function touchedConfigs(facts: PlanFacts): string[] {
  return [...new Set([facts.previous?.config, facts.owner?.config.key].filter((key): key is string => key !== undefined))];
}

function done(state: Done["state"], touched: readonly string[]): Done {
  return { kind: "done", state, events: [], touchedConfigs: touched };
}

function finish(fields: Omit<Done, "kind">): Done {
  return { kind: "done", ...fields };
}
