import type { CoreV1Api } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Certificate } from "../ocsp/certificate.ts";
import { readChain, type Chain } from "../ocsp/chain.ts";
import type { Clock } from "../ocsp/clock.ts";
import { isOcspError } from "../ocsp/errors.ts";
import { findIssuer } from "../ocsp/issuer.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import { verifyResponse } from "../ocsp/verify.ts";
import { decide, type CurrentStaple, type Decision, type FetchOutcome } from "../staple/decide.ts";
import { leafOutsideValidity, type LeafOutsideValidity } from "../staple/leaf-validity.ts";
import type { Random } from "../staple/refresh-policy.ts";
import { refreshAt, retryDelayMs } from "../staple/refresh-schedule.ts";
import type { CompanionSnapshot } from "../kube/companion-snapshot.ts";
import { companionName } from "../kube/companion-secret.ts";
import type { EventRecorder, EventTarget } from "../kube/event-recorder.ts";
import { configKey, type StapleConfig } from "../kube/staple-config.ts";
import { secretStillThere } from "../kube/secret-still-there.ts";
import type { TlsSecret } from "../kube/tls-secret.ts";
import { selectingConfigs } from "./ownership.ts";
import type { SecretState } from "./secret-state.ts";
import { HostBusy } from "./host-busy.ts";
import type { StapleFetcher } from "./staple-fetcher.ts";
import { deleteCompanion, removeInPlaceStaple, stapleStore, type StapleStore, type StoredStaple } from "./staple-store.ts";

export interface ReconcilerDependencies {
  readonly secrets: ReadonlyMap<string, TlsSecret>;
  readonly configs: ReadonlyMap<string, StapleConfig>;
  readonly companions: ReadonlyMap<string, CompanionSnapshot>;
  readonly fetcher: StapleFetcher;
  readonly api: CoreV1Api;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Downloads AIA caIssuers (through the same limits as OCSP). */
  readonly downloadIssuer: (url: string) => Promise<Certificate[]>;
  readonly events: EventRecorder;
  /** Told of every API write this reconciler makes (for metrics). */
  readonly onWrite?: (kind: "companion" | "in-place" | "delete") => void;
  /** Runs while the reconcile waits on a responder: the controller frees the reconcile's worker slot meanwhile. */
  readonly whileWaiting?: <T>(work: Promise<T>) => Promise<T>;
}

/** Less than this left on a staple in place while fetches fail: warn with StapleExpiring. */
const EXPIRING_WARNING_MS = 24 * 3_600_000;
/** An InPlace write refused because the TLS Secret changed meanwhile: look again this soon. */
const STALE_RETRY_MS = 1_000;

/** When to look at the key again; nothing means only when something changes. */
export interface ReconcileOutcome {
  readonly requeueAfterMs?: number;
  /** The responder's host had a full backlog: look again when this resolves (it has room). */
  readonly retryWhen?: Promise<void>;
  /** StapleConfigs whose status may have changed. */
  readonly touchedConfigs: readonly string[];
}

/**
 * Keeps one TLS Secret's staple right: gather (caches, the staple in place),
 * decide (the pure policy of src/staple), act (the only API writes). Never
 * touches the queue: it returns when to come back (controller-runtime's
 * Result), and the controller acts on that.
 */
export class SecretReconciler {
  readonly states = new Map<string, SecretState>();
  private readonly deps: ReconcilerDependencies;

  constructor(deps: ReconcilerDependencies) {
    this.deps = deps;
  }

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const previous = this.states.get(key)?.config;
    const touched = (...configs: (string | undefined)[]) => [...new Set([previous, ...configs].filter((config): config is string => config !== undefined))];
    const secret = this.deps.secrets.get(key);
    // A deleted Secret's companion goes with it: garbage collection follows the owner reference.
    if (secret === undefined) return this.forget(key, touched());
    const [owner] = selectingConfigs(this.deps.configs.values(), secret);
    await this.removeStaleCompanions(secret, owner);
    // A removal changes the TLS Secret, which brings it back here with the new version.
    if (await this.removeStaleInPlace(secret, owner)) return { touchedConfigs: touched(...(owner === undefined ? [] : [configKey(owner)])) };
    if (owner === undefined) return this.forget(key, touched());
    const ownerKey = configKey(owner);
    let chain: Chain;
    let issuer: Certificate;
    try {
      chain = readChain(secret.tlsCrt, secret.caCrt);
      issuer = (await findIssuer(chain.leaf, { chain: chain.intermediates, caCrt: chain.extraCas, explicit: [], download: this.deps.downloadIssuer })).certificate;
    } catch (error) {
      if (!isOcspError(error)) throw error;
      // A bad tls.crt stays bad until the Secret changes (which requeues it), but the issuer may come
      // from an AIA download that failed for now: look again with the config's backoff.
      const failures = (this.states.get(key)?.failures ?? 0) + 1;
      const retryMs = retryDelayMs(failures, owner.policy, this.deps.random);
      this.record(key, { config: ownerKey, name: secret.name, failures, nextCheckAt: new Date(this.deps.clock.now().getTime() + retryMs), error: { code: error.code, message: error.message } });
      return { requeueAfterMs: retryMs, touchedConfigs: touched(ownerKey) };
    }
    const invalid = leafOutsideValidity(chain.leaf, this.deps.clock.now());
    if (invalid !== undefined) return { ...(await this.holdInvalidLeaf(key, secret, owner, invalid)), touchedConfigs: touched(ownerKey) };
    return { ...(await this.refresh(key, secret, owner, chain, issuer)), touchedConfigs: touched(ownerKey) };
  }

  /**
   * An expired (or not yet valid) leaf: no fetch. A staple in place is past
   * its usable end (which is at most the leaf's notAfter), so it goes; the
   * status and one Warning Event say why; the Secret is looked at again when
   * it changes (a renewal) or, for a leaf not valid yet, at its notBefore.
   */
  private async holdInvalidLeaf(key: string, secret: TlsSecret, owner: StapleConfig, invalid: LeafOutsideValidity): Promise<{ requeueAfterMs?: number }> {
    const store = stapleStore(this.deps.api, secret, owner, this.deps.companions);
    if (store.stored !== undefined && await store.remove()) {
      this.deps.onWrite?.(owner.target.mode === "InPlace" ? "in-place" : "delete");
      this.deps.events.record(eventTargets(secret, owner), "Warning", "StapleWithdrawn", `Removed the staple from ${store.holder}: ${invalid.message}`);
    }
    if (this.states.get(key)?.error?.code !== invalid.reason) {
      this.deps.logger.warn({ namespace: secret.namespace, name: secret.name, reason: invalid.reason }, invalid.message);
      this.deps.events.record(eventTargets(secret, owner), "Warning", invalid.reason, invalid.message);
    }
    this.record(key, {
      config: configKey(owner), name: secret.name, failures: 0, error: { code: invalid.reason, message: invalid.message },
      ...(invalid.recheckAt === undefined ? {} : { nextCheckAt: invalid.recheckAt }),
    });
    const now = this.deps.clock.now().getTime();
    return invalid.recheckAt === undefined ? {} : { requeueAfterMs: Math.max(0, invalid.recheckAt.getTime() - now) };
  }

  private async refresh(key: string, secret: TlsSecret, owner: StapleConfig, chain: Chain, issuer: Certificate): Promise<{ requeueAfterMs?: number; retryWhen?: Promise<void> }> {
    const now = this.deps.clock.now();
    const store = stapleStore(this.deps.api, secret, owner, this.deps.companions);
    const present = this.currentStaple(store.stored, owner, chain.leaf, issuer, now);
    let current = present?.current;
    const basis = `${chain.leaf.sha256} ${owner.uid} ${owner.generation}`;
    const state = this.states.get(key);
    const due = this.dueAt(state?.basis === basis ? state : undefined, current, chain.leaf.sha256, owner, now);
    if (due !== undefined && due > now) {
      this.record(key, { ...(state?.basis === basis ? state : stateOf(owner, secret, store, present?.verified)), nextCheckAt: due, basis });
      return { requeueAfterMs: due.getTime() - now.getTime() };
    }
    // The staple we wrote is gone: deleted by someone (write it again), or collected with its Secret while
    // this cache has not seen that deletion yet (write nothing: the deletion event comes next).
    if (state?.staple !== undefined && store.stored === undefined && !(await secretStillThere(this.deps.api, secret))) return {};
    if (owner.target.mode === "InPlace" && current !== undefined && current.certificateSha256 !== chain.leaf.sha256 && await store.remove()) {
      // Envoy refuses a TLS context whose staple does not match its certificate: a stale staple
      // would block the renewal itself, so it goes before the (possibly slow) fetch of a new one.
      this.deps.onWrite?.("in-place");
      this.deps.logger.info({ namespace: secret.namespace, name: secret.name }, "staple for the previous certificate removed");
      current = undefined;
      // The status must not describe the removed staple while the new one is fetched.
      this.record(key, { config: configKey(owner), name: secret.name, failures: state?.failures ?? 0, basis });
    }
    const outcome = await this.fetch(owner, chain, issuer);
    if ("hostFree" in outcome) return { retryWhen: outcome.hostFree };
    const decision = decide({
      certificateSha256: chain.leaf.sha256,
      ...(current === undefined ? {} : { current }),
      outcome: outcome.outcome,
      failuresBefore: state?.failures ?? 0,
      now,
      policy: owner.policy,
      random: this.deps.random,
    });
    await this.act(key, decision, { secret, owner, store, current, chain, basis, now, responder: outcome.responder, fetchMessage: outcome.message });
    const next = this.states.get(key)?.nextCheckAt ?? decision.nextCheckAt;
    return { requeueAfterMs: Math.max(0, next.getTime() - now.getTime()) };
  }

  /** The staple in place, re-verified now: what the policy compares a new answer with. */
  private currentStaple(stored: StoredStaple | undefined, owner: StapleConfig, leaf: Certificate, issuer: Certificate, now: Date): { current: CurrentStaple; verified?: VerifiedResponse } | undefined {
    const firstKey = owner.target.keys[0];
    const data = firstKey === undefined ? undefined : stored?.data[firstKey];
    if (stored === undefined || data === undefined) return undefined;
    const certificateSha256 = stored.certificateSha256 ?? "";
    try {
      const verified = verifyResponse(new Uint8Array(Buffer.from(data, "base64")), { subject: leaf, issuer, at: now });
      return { current: { thisUpdate: verified.thisUpdate, usableUntil: verified.usableUntil, certificateSha256 }, verified };
    } catch {
      // Expired, or for another certificate: unusable now, so the policy replaces or withdraws it.
      return { current: { thisUpdate: new Date(0), usableUntil: new Date(0), certificateSha256 } };
    }
  }

  /**
   * When the next fetch is due. A schedule made on the same basis holds
   * (refresh time, or backoff after a failure), unless the staple we wrote is
   * gone or no longer verifies (someone deleted or edited the companion).
   * Without a schedule (a restart, a new certificate, an edited config), a
   * valid staple in place sets it, so nothing is refetched early; otherwise
   * the fetch is due now.
   */
  private dueAt(state: SecretState | undefined, current: CurrentStaple | undefined, certificateSha256: string, owner: StapleConfig, now: Date): Date | undefined {
    const stapleLost = state?.staple !== undefined && (current === undefined || current.usableUntil <= now);
    if (state?.nextCheckAt !== undefined && !stapleLost) return state.nextCheckAt;
    if (current === undefined || current.certificateSha256 !== certificateSha256 || current.usableUntil <= now) return undefined;
    return refreshAt(current, current.thisUpdate, owner.policy, this.deps.random);
  }

  private async fetch(owner: StapleConfig, chain: Chain, issuer: Certificate): Promise<{ outcome: FetchOutcome; responder: string; message?: string } | { hostFree: Promise<void> }> {
    const waitOff = this.deps.whileWaiting ?? (<T>(work: Promise<T>) => work);
    try {
      const staple = await waitOff(this.deps.fetcher.fetch({
        chain, issuer,
        ...(owner.responder.urlOverride === "" ? {} : { urlOverride: owner.responder.urlOverride }),
        method: owner.responder.method,
        timeoutMs: owner.responder.timeoutMs,
      }, this.deps.clock.now().getTime()));
      return { outcome: { kind: "verified", response: staple }, responder: staple.responder };
    } catch (error) {
      if (error instanceof HostBusy) return { hostFree: error.free };
      if (!isOcspError(error)) throw error;
      return { outcome: { kind: "failed", code: error.code }, responder: "", message: error.message };
    }
  }

  private async act(key: string, decision: Decision, context: {
    secret: TlsSecret; owner: StapleConfig; store: StapleStore; current: CurrentStaple | undefined;
    chain: Chain; basis: string; now: Date; responder: string; fetchMessage?: string | undefined;
  }): Promise<void> {
    const { secret, owner, store } = context;
    const base = { config: configKey(owner), name: secret.name, nextCheckAt: decision.nextCheckAt, basis: context.basis };
    const log = this.deps.logger.child({ namespace: secret.namespace, name: secret.name, config: owner.name });
    if (decision.action === "write") {
      const written = await store.write({ response: decision.response, responder: context.responder, certificateSha256: context.chain.leaf.sha256 });
      if (written.result === "stale") {
        // The TLS Secret changed since it was read (a renewal?): its update event requeues it; this is a fallback.
        const previous = this.states.get(key);
        const kept = store.stored !== undefined && previous !== undefined ? keptStapleFields(previous) : {};
        this.record(key, { ...base, ...kept, failures: previous?.failures ?? 0, nextCheckAt: new Date(context.now.getTime() + STALE_RETRY_MS) });
        return;
      }
      if (written.result === "conflict") {
        // Retried with backoff: the foreign Secret may be removed (we do not watch Secrets we do not manage),
        // or the rule that refused the write (RBAC, the admission policy's key list) may be changed.
        const failures = (this.states.get(key)?.failures ?? 0) + 1;
        const retryAt = new Date(context.now.getTime() + retryDelayMs(failures, owner.policy, this.deps.random));
        log.warn({ reason: written.reason }, written.message);
        this.record(key, { ...base, nextCheckAt: retryAt, failures, error: { code: written.reason, message: written.message } });
        return;
      }
      if (written.result === "written") {
        this.deps.onWrite?.(owner.target.mode === "InPlace" ? "in-place" : "companion");
        log.info({ reason: decision.reason, serial: decision.response.serial, thisUpdate: decision.response.thisUpdate }, "staple written");
        const revoked = decision.reason === "Revoked";
        // Events mark transitions, not routine refreshes (1,000 Secrets refreshed hourly would be 48,000 Events a day):
        // the first staple (or the first after a withdrawal or a new certificate), a recovery, a change of status.
        const previous = this.states.get(key);
        const routine = context.current !== undefined && (previous?.failures ?? 0) === 0 && previous?.certStatus === (revoked ? "Revoked" : "Good");
        if (!routine) {
          this.deps.events.record(eventTargets(secret, owner), revoked ? "Warning" : "Normal", decision.reason,
            `${revoked ? "Certificate revoked: stapled so clients fail closed" : "Stapled a verified good response"} (serial ${decision.response.serial}) in ${store.holder}`);
        }
      }
      this.record(key, { ...base, failures: 0, ...stapleFields(store.holder, decision.response) });
      return;
    }
    if (decision.action === "withdraw" && await store.remove()) {
      this.deps.onWrite?.(owner.target.mode === "InPlace" ? "in-place" : "delete");
      log.warn({ reason: decision.reason, fetchReason: decision.fetchReason }, "staple withdrawn");
      this.deps.events.record(eventTargets(secret, owner), "Warning", "StapleWithdrawn", `Removed the staple from ${store.holder}: ${decision.reason === "StapleExpired" ? "its usable window ended" : "the certificate changed"} and no fresh staple could be fetched (${decision.fetchReason})`);
    }
    const previous = this.states.get(key);
    if (decision.failures === 1) {
      this.deps.events.record(eventTargets(secret, owner), "Warning", "FetchFailed", `${decision.reason}: ${context.fetchMessage ?? decision.reason}`);
    }
    const expiring = decision.action === "keep" && context.current !== undefined && context.current.usableUntil.getTime() - context.now.getTime() < EXPIRING_WARNING_MS;
    if (expiring && previous?.expiringReported !== true) {
      this.deps.events.record(eventTargets(secret, owner), "Warning", "StapleExpiring", `The staple in place ends at ${context.current?.usableUntil.toISOString() ?? ""} and cannot be refreshed (${decision.reason})`);
    }
    // A kept staple is still served: its description (and its expiry metric) stays, next to the error.
    const kept = decision.action === "keep" && context.current !== undefined && previous !== undefined ? keptStapleFields(previous) : {};
    log.warn({ reason: decision.reason, failures: decision.failures }, context.fetchMessage ?? `staple not refreshed: ${decision.reason}`);
    this.record(key, { ...base, ...kept, failures: decision.failures, expiringReported: expiring || previous?.expiringReported === true, error: { code: decision.reason, message: context.fetchMessage ?? decision.reason } });
  }

  /** A companion left by a config that no longer owns the Secret, or under an old name suffix. */
  private async removeStaleCompanions(secret: TlsSecret, owner: StapleConfig | undefined): Promise<void> {
    const keep = owner?.target.mode === "Companion" ? companionName(secret, owner.target) : undefined;
    for (const companion of this.deps.companions.values()) {
      if (companion.namespace === secret.namespace && companion.source === secret.name && companion.name !== keep) {
        await deleteCompanion(this.deps.api, companion);
        this.deps.onWrite?.("delete");
      }
    }
  }

  /**
   * Our keys in the TLS Secret when no InPlace config owns it any more, or the
   * owner now wants other keys (deselection cleans up, DESIGN.md). True when
   * something was removed.
   */
  private async removeStaleInPlace(secret: TlsSecret, owner: StapleConfig | undefined): Promise<boolean> {
    if (secret.inPlace === undefined) return false;
    const wanted = owner?.target.mode === "InPlace" ? owner.target.keys.join(",") : undefined;
    if (wanted === secret.inPlace.keys.join(",")) return false;
    const removed = await removeInPlaceStaple(this.deps.api, secret);
    if (removed) {
      this.deps.onWrite?.("in-place");
      this.deps.logger.info({ namespace: secret.namespace, name: secret.name }, "in-place staple removed: no StapleConfig asks for it");
    }
    return removed;
  }

  private record(key: string, state: SecretState): void {
    this.states.set(key, state);
  }

  private forget(key: string, touchedConfigs: string[]): ReconcileOutcome {
    this.states.delete(key);
    return { touchedConfigs };
  }
}

/** The state of a Secret whose staple in place is still good (after a restart, before any fetch). */
function stateOf(owner: StapleConfig, secret: TlsSecret, store: StapleStore, verified: VerifiedResponse | undefined): SecretState {
  return {
    config: configKey(owner), name: secret.name, failures: 0,
    ...(store.stored === undefined ? {} : verified === undefined ? { staple: store.holder } : stapleFields(store.holder, verified)),
  };
}

/** What a state says about the staple in place: where it is and what it answers. */
function stapleFields(staple: string, response: VerifiedResponse): Pick<SecretState, "staple" | "serial" | "certStatus" | "thisUpdate" | "nextUpdate"> {
  const certStatus = response.certStatus.kind === "good" ? "Good" : response.certStatus.kind === "revoked" ? "Revoked" : "Unknown";
  return { staple, serial: response.serial, certStatus, thisUpdate: response.thisUpdate, ...(response.nextUpdate === undefined ? {} : { nextUpdate: response.nextUpdate }) };
}

/** The staple fields of a previous state, carried over while a failing refresh keeps that staple. */
function keptStapleFields(previous: SecretState): Partial<SecretState> {
  if (previous.staple === undefined) return {};
  const { staple, serial, certStatus, thisUpdate, nextUpdate } = previous;
  return definedOnly({ staple, serial, certStatus, thisUpdate, nextUpdate });
}

/** Events go on the StapleConfig (its story) and on the TLS Secret (what `kubectl describe secret` shows). */
function eventTargets(secret: TlsSecret, owner: StapleConfig): EventTarget[] {
  return [
    { apiVersion: "ocsp-stapler.io/v1alpha1", kind: "StapleConfig", namespace: owner.namespace, name: owner.name, uid: owner.uid },
    { apiVersion: "v1", kind: "Secret", namespace: secret.namespace, name: secret.name, uid: secret.uid },
  ];
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as Partial<T>;
}

