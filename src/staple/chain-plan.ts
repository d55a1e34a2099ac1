import type { OcspErrorCode } from "../ocsp/error-codes.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import { consumerRejection, type ConsumerProfile } from "./consumer-profile.ts";
import { decide, withdrawAt, type CurrentStaple, type Decision } from "./decide.ts";
import type { PlannedEvent } from "./plan.ts";
import type { Random, RefreshPolicy } from "./refresh-policy.ts";
import type { ChainElementState } from "./secret-state.ts";

/**
 * The intermediates' part of a `chain: Full` reconcile (issue 12), as a pure
 * function next to the leaf's plan (plan.ts): the leaf's staple is planned
 * there exactly as for `chain: Leaf`, so a leaf-only config cannot change;
 * this plan decides, for each intermediate, what its key `<key>.<n>` holds,
 * which of them go into the bundle, the status list and Events, and when the
 * chain wants to be looked at again. Each element follows the leaf's rules
 * (decide.ts): only a verified good or revoked answer is written, never an
 * older one; a failing refresh keeps the staple in place until its usable
 * end, then withdraws it alone — the leaf's staple is never touched here.
 */

/** One intermediate (element n ≥ 1 of the chain) as the reconcile found it. */
export interface ElementFacts {
  /** 1 for the first intermediate: its key is `<key>.<index>`. */
  readonly index: number;
  readonly subject: string;
  /** The intermediate certificate's serial (hex). */
  readonly serial: string;
  /** SHA-256 of the intermediate's DER: a staple in place is compared with it. */
  readonly certificateSha256: string;
  /** The intermediate certificate's notAfter (a consumer rule may compare the staple's window with it). */
  readonly notAfter: Date;
  /** Its staple in the holder, re-verified now; undefined when there is none or it no longer verifies. */
  readonly stored: VerifiedResponse | undefined;
  /** This reconcile's fetch (verified, or its coded error); undefined when the chain was not due. */
  readonly fetched: ElementFetch | undefined;
}

export type ElementFetch =
  | { readonly ok: true; readonly response: VerifiedResponse }
  | { readonly ok: false; readonly code: OcspErrorCode; readonly message: string };

export interface ChainPlanInput {
  readonly elements: readonly ElementFacts[];
  /** What the last reconcile listed for the chain (failure streaks, Events already sent). */
  readonly previous: readonly ChainElementState[] | undefined;
  readonly now: Date;
  readonly policy: RefreshPolicy;
  readonly random: Random;
  /** The Secret holding the staples, for Event messages. */
  readonly holder: string;
  /** The consumers' rules an intermediate's staple must pass, as the leaf's (consumer-profile.ts `profilesFor`). */
  readonly profiles: readonly ConsumerProfile[];
}

export interface ChainPlan {
  /** What each intermediate's key holds after this reconcile, in element order; undefined: the key is absent. */
  readonly staples: readonly (VerifiedResponse | undefined)[];
  /**
   * How many intermediates follow the leaf in the bundle: the unbroken run
   * from the first. A missing element ends it, because a bundle's i-th
   * response is read as element i's (verifyChainStaples, and every reader
   * that goes by position): with the first intermediate missing the bundle
   * holds the leaf alone. Undefined: no bundle at all, because an
   * intermediate is revoked (see `withheldBundle`).
   */
  readonly bundled: number | undefined;
  /** The status list of the chain (intermediates only; the leaf is the entry itself). */
  readonly entries: readonly ChainElementState[];
  readonly events: readonly PlannedEvent[];
  /** The earliest refresh or retry among the intermediates. */
  readonly recheckAt: Date | undefined;
}

/**
 * Whether the intermediates are due for a fetch: the first time, a chain
 * that changed (other intermediates), a refresh or retry time reached, or a
 * staple listed as in place that is gone (someone deleted the key).
 */
export function chainDue(elements: readonly Pick<ElementFacts, "serial" | "subject" | "stored">[], previous: readonly ChainElementState[] | undefined, now: Date): boolean {
  if (previous?.length !== elements.length) return true;
  return elements.some((element, position) => {
    const entry = previous[position];
    return entry === undefined || entry.serial !== element.serial || entry.subject !== element.subject
      || entry.checkAtMs <= now.getTime() || (entry.certStatus !== undefined && element.stored === undefined);
  });
}

/**
 * While any element of the chain is revoked, the companion holds no bundle
 * (its key is removed); each element's DER key still holds its revoked
 * staple. GnuTLS refuses to load a bundle holding a revoked response, and
 * Exim then answers every STARTTLS with `454 TLS currently unavailable`
 * (docs/full-chain-clients.md): most SMTP senders then deliver in plaintext,
 * a downgrade for everyone instead of a refusal of the revoked chain.
 * Without a bundle Exim (its tls_ocsp_file guarded with `${if exists…}`)
 * serves no staple, and clients that check revocation themselves find the
 * revoked certificate and refuse (gnutls-cli --ocsp, measured). The leaf's
 * own revocation is applied where the bundle is written (chain-keys.ts).
 */
export function planChain(input: ChainPlanInput): ChainPlan {
  const planned = input.elements.map((element, position) => planElement(element, input.previous?.[position], input));
  const firstMissing = planned.findIndex((element) => element.staple === undefined);
  const revoked = planned.some((element) => element.staple?.certStatus.kind === "revoked");
  const checks = planned.map((element) => element.entry.checkAtMs);
  return {
    staples: planned.map((element) => element.staple),
    bundled: revoked ? undefined : firstMissing === -1 ? planned.length : firstMissing,
    entries: planned.map((element) => element.entry),
    events: planned.flatMap((element) => element.events),
    recheckAt: checks.length === 0 ? undefined : new Date(Math.min(...checks)),
  };
}

interface PlannedElement {
  readonly staple: VerifiedResponse | undefined;
  readonly entry: ChainElementState;
  readonly events: readonly PlannedEvent[];
}

function planElement(element: ElementFacts, previous: ChainElementState | undefined, input: ChainPlanInput): PlannedElement {
  const same = previous?.serial === element.serial && previous.subject === element.subject ? previous : undefined;
  if (element.fetched === undefined) return notFetched(element, same, input.now);
  if (!element.fetched.ok && element.fetched.code === "NoResponderURL") return noResponder(element, element.fetched.message, same, input);
  const current = currentOf(element);
  const decideOn = (outcome: Parameters<typeof decide>[0]["outcome"]) => decide({
    certificateSha256: element.certificateSha256, ...(current === undefined ? {} : { current }), outcome,
    failuresBefore: same?.failures ?? 0, now: input.now, policy: input.policy, random: input.random,
  });
  const decision = decideOn(element.fetched.ok ? { kind: "verified", response: element.fetched.response } : { kind: "failed", code: element.fetched.code });
  if (decision.action === "write") {
    // As for the leaf (plan.ts afterFetch): a response a consumer would refuse is a failure, the staple in place kept.
    const rejection = consumerRejection(input.profiles, decision.response, { leafNotAfter: element.notAfter, now: input.now });
    if (rejection === undefined) return written(element, decision.response, decision.nextCheckAt, same, input.holder);
    const refused = decideOn({ kind: "refused", reason: "ConsumerWouldReject" });
    if (refused.action === "write") throw new Error("planElement: a refused response was decided a write");
    return failed(element, refused, rejection.message, input.holder);
  }
  const message = element.fetched.ok ? decision.reason : element.fetched.message;
  return failed(element, decision, message, input.holder);
}

/** Not due: what is in place stays while it is usable (its withdrawal time ends it), and the schedule holds. */
function notFetched(element: ElementFacts, previous: ChainElementState | undefined, now: Date): PlannedElement {
  const current = currentOf(element);
  const base = { subject: element.subject, serial: element.serial, failures: previous?.failures ?? 0, checkAtMs: previous?.checkAtMs ?? now.getTime() };
  const error = previous?.error === undefined ? {} : { error: previous.error };
  if (element.stored === undefined || current === undefined || now >= withdrawAt(current)) return { staple: undefined, entry: { ...base, ...error }, events: [] };
  // Never looked at later than its withdrawal time, so an expiring staple goes in time.
  const checkAtMs = Math.min(base.checkAtMs, withdrawAt(current).getTime());
  return { staple: element.stored, entry: { ...base, ...error, ...responseFields(element.stored), checkAtMs }, events: [] };
}

/**
 * How often an intermediate without a responder is looked at again: its AIA
 * never changes, but its Secret's chain may (re-read then anyway); once a day
 * costs no request (nothing is asked: the URL is missing).
 */
const NO_RESPONDER_RECHECK_MS = 24 * 3_600_000;

/**
 * An intermediate whose certificate names no OCSP responder: its CA offers no
 * status for it (public CAs turning OCSP off drop it from intermediates too).
 * Expected, like a leaf's (plan.ts): a `notice`, not an error, so it keeps no
 * config Degraded; one Normal Event when first seen; a staple still in place
 * (fetched through an override since removed) is withdrawn, as nothing would
 * refresh it. The bundle ends before it, as before any missing element.
 */
function noResponder(element: ElementFacts, message: string, previous: ChainElementState | undefined, input: ChainPlanInput): PlannedElement {
  const reported = previous?.notice?.code === "NoResponderURL";
  const events: PlannedEvent[] = reported ? [] : [{ type: "Normal", reason: "NoResponderURL", message: `Intermediate "${element.subject}": ${message}` }];
  if (element.stored !== undefined) events.push({ type: "Warning", reason: "StapleWithdrawn", message: `Removed the staple of intermediate "${element.subject}" from ${input.holder}: it names no OCSP responder, so nothing would refresh it; the leaf's staple stays` });
  return {
    staple: undefined,
    entry: { subject: element.subject, serial: element.serial, failures: 0, checkAtMs: input.now.getTime() + NO_RESPONDER_RECHECK_MS, notice: { code: "NoResponderURL", message } },
    events,
  };
}

function written(element: ElementFacts, response: VerifiedResponse, checkAt: Date, previous: ChainElementState | undefined, holder: string): PlannedElement {
  const revoked = response.certStatus.kind === "revoked";
  // One Revoked Event when the intermediate turns revoked, not at every refresh.
  const events: PlannedEvent[] = revoked && previous?.certStatus !== "Revoked"
    ? [{ type: "Warning", reason: "Revoked", message: `Intermediate "${element.subject}" (serial ${element.serial}) is revoked: its revoked status is stapled in ${holder} so clients fail closed` }]
    : [];
  return { staple: response, entry: { subject: element.subject, serial: element.serial, failures: 0, checkAtMs: checkAt.getTime(), ...responseFields(response) }, events };
}

function failed(element: ElementFacts, decision: Exclude<Decision, { action: "write" }>, message: string, holder: string): PlannedElement {
  const kept = decision.action === "keep" ? element.stored : undefined;
  const events: PlannedEvent[] = [];
  if (decision.failures === 1) events.push({ type: "Warning", reason: "FetchFailed", message: `Intermediate "${element.subject}": ${decision.reason}: ${message}` });
  if (decision.action === "withdraw") {
    events.push({ type: "Warning", reason: "StapleWithdrawn", message: `Removed the staple of intermediate "${element.subject}" from ${holder}: its usable window ended and no fresh one could be fetched (${decision.fetchReason}); the leaf's staple stays` });
  }
  const reason = decision.action === "withdraw" ? decision.fetchReason : decision.reason;
  return {
    staple: kept,
    entry: {
      subject: element.subject, serial: element.serial, failures: decision.failures, checkAtMs: decision.nextCheckAt.getTime(),
      ...(kept === undefined ? {} : responseFields(kept)), error: { code: reason, message },
    },
    events,
  };
}

function currentOf(element: ElementFacts): CurrentStaple | undefined {
  const { stored } = element;
  return stored === undefined ? undefined : { thisUpdate: stored.thisUpdate, usableUntil: stored.usableUntil, certificateSha256: element.certificateSha256 };
}

function responseFields(response: VerifiedResponse): Pick<ChainElementState, "certStatus" | "nextUpdateMs"> {
  const certStatus = response.certStatus.kind === "good" ? "Good" : response.certStatus.kind === "revoked" ? "Revoked" : "Unknown";
  return { certStatus, ...(response.nextUpdate === undefined ? {} : { nextUpdateMs: response.nextUpdate.getTime() }) };
}
