// The whole reconcile of one TLS Secret as a table, with no API server: the facts the
// reconciler gathers, the outcomes of the I/O the plan asks for (an existence check, a
// fetch, a write), and what comes of it — the API actions in order, the status entry,
// the Events and when to look again. `drive` plays the reconciler's part: it asks for
// a plan, notes its actions, answers its `next` from the script, and asks again.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CertStatus } from "../../src/ocsp/cert-status.ts";
import type { VerifiedResponse } from "../../src/ocsp/verified-response.ts";
import type { FetchOutcome } from "../../src/staple/decide.ts";
import { NO_RESPONDER_MESSAGE, planReconcile, type ChainFacts, type Done, type OwnerFacts, type PlanFacts, type Progress, type StapleInPlace, type WriteResult } from "../../src/staple/plan.ts";
import { DEFAULT_REFRESH_POLICY } from "../../src/staple/refresh-policy.ts";
import { refreshJitter } from "../../src/staple/refresh-jitter.ts";
import { JITTER_SHARE } from "../../src/staple/refresh-schedule.ts";
import { scheduleBasis } from "../../src/staple/schedule-basis.ts";
import type { ChainElementState, SecretState } from "../../src/staple/secret-state.ts";
import { chainDue, planChain, type ElementFacts, type ElementFetch } from "../../src/staple/chain-plan.ts";
import { profilesFor } from "../../src/staple/consumer-profile.ts";

const HOUR = 3_600_000;
const NOW = new Date("2026-11-25T12:00:00Z");
const at = (hours: number) => new Date(NOW.getTime() + hours * HOUR);
/** The same instant as an entry keeps it: epoch milliseconds. */
const ms = (hours: number) => at(hours).getTime();
const LEAF = "sha256-of-the-leaf";
const OLD_LEAF = "sha256-of-the-previous-leaf";
const BASIS = scheduleBasis(LEAF, "config-uid", 1);

function response(thisUpdateHours: number, usableForHours: number, status: CertStatus = { kind: "good" }): VerifiedResponse {
  return {
    der: new Uint8Array([0x30]), certStatus: status, serial: "0a", certIdHash: "sha1", singleResponses: 1, subjectIndex: 0,
    producedAt: at(thisUpdateHours), thisUpdate: at(thisUpdateHours), nextUpdate: at(thisUpdateHours + usableForHours),
    usableUntil: at(thisUpdateHours + usableForHours), signer: { kind: "issuer", subject: "CN=CA", notAfter: at(1e4) },
  };
}

const companionOwner: OwnerFacts = { key: "ns/all", uid: "config-uid", generation: 1, mode: "Companion", keys: ["ocsp.der"], holder: "web-tls-ocsp", policy: DEFAULT_REFRESH_POLICY };
const inPlaceOwner: OwnerFacts = { ...companionOwner, mode: "InPlace", keys: ["tls.ocsp-staple"], holder: "web-tls" };
const validLeaf: ChainFacts = { kind: "read", leafSha256: LEAF, notBefore: at(-24 * 30), notAfter: at(24 * 60) };
const noResponderLeaf: ChainFacts = { ...validLeaf, noResponder: true };
const mustStapleLeaf: ChainFacts = { ...validLeaf, mustStaple: true };

interface Scenario {
  readonly owner?: OwnerFacts | undefined;
  readonly chain?: ChainFacts;
  readonly stored?: StapleInPlace;
  readonly previous?: SecretState;
  readonly companions?: readonly string[];
  readonly inPlaceKeys?: readonly string[];
  readonly immutable?: boolean;
  readonly deleted?: boolean;
  /** The retry jitter's source; 0.5 unless given. */
  readonly random?: () => number;
}

function facts(scenario: Scenario): PlanFacts {
  const owner = "owner" in scenario ? scenario.owner : companionOwner;
  return {
    secret: scenario.deleted === true ? undefined : { name: "web-tls", companions: scenario.companions ?? [], inPlaceKeys: scenario.inPlaceKeys, immutable: scenario.immutable ?? false },
    owner: owner === undefined ? undefined : { config: owner, chain: scenario.chain ?? validLeaf, stored: scenario.stored },
    previous: scenario.previous,
    now: NOW,
    random: scenario.random ?? (() => 0.5),
  };
}

/** What the reconciler's I/O answers, in this run. */
interface Script {
  readonly exists?: boolean;
  readonly fetch?: FetchOutcome;
  readonly write?: WriteResult;
}

interface Run {
  /** Actions and I/O in order: `deleteCompanion old`, `removeStaple`, `fetch`, `write`, … */
  readonly steps: string[];
  readonly done: Done;
}

function drive(scenario: Scenario, script: Script = {}): Run {
  const input = facts(scenario);
  const steps: string[] = [];
  let progress: Progress = { step: "start" };
  for (let round = 0; round < 5; round++) {
    const plan = planReconcile(input, progress);
    for (const action of plan.actions) steps.push(action.kind === "deleteCompanion" ? `deleteCompanion ${action.name}` : action.kind);
    const { next } = plan;
    if (next.kind === "done") return { steps, done: next };
    steps.push(next.kind);
    if (next.kind === "checkExists") progress = { step: "checkedExists", exists: required(script.exists, "exists") };
    else if (next.kind === "fetch") progress = { step: "fetched", outcome: required(script.fetch, "fetch"), message: "the responder said so" };
    else progress = { step: "wrote", write: next, result: required(script.write, "write") };
  }
  throw new Error("the plan never finished");
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`the plan asked for ${what}, which this row does not expect`);
  return value;
}

const good = (thisUpdateHours = 0, usableForHours = 96): FetchOutcome => ({ kind: "verified", response: response(thisUpdateHours, usableForHours) });
const failed = (code: "ResponderTimeout" | "BadSignature" = "ResponderTimeout"): FetchOutcome => ({ kind: "failed", code });
/** A verified good answer without nextUpdate (usable for the engine's short window): Envoy and HAProxy refuse it. */
const withoutNextUpdate = (): FetchOutcome => {
  const { der, certStatus, serial, certIdHash, singleResponses, subjectIndex, producedAt, thisUpdate, signer } = response(0, 1);
  return { kind: "verified", response: { der, certStatus, serial, certIdHash, singleResponses, subjectIndex, producedAt, thisUpdate, usableUntil: at(1), signer } };
};
const envoyOwner: OwnerFacts = { ...companionOwner, mode: "InPlace", keys: ["ocsp.staple"], holder: "web-tls", consumer: "Auto" };
const ENVOY_REFUSES = "not published: Envoy would reject it (NextUpdateRequired): the response has no nextUpdate, which Envoy treats as expired (with MUST_STAPLE the listener is rejected)";
const inPlace = (thisUpdateHours: number, usableForHours: number, certificateSha256 = LEAF): StapleInPlace => ({ certificateSha256, verified: response(thisUpdateHours, usableForHours) });
const unusable = (certificateSha256 = LEAF): StapleInPlace => ({ certificateSha256, verified: undefined });
/** Some fields of an entry; undefined: the field must be absent. */
type Fields = { [K in keyof SecretState]?: SecretState[K] | undefined };

/** The entry a successful reconcile leaves for a good staple written `hours` ago, refreshed at `nextCheckHours`. */
const stapledEntry = (overrides: Fields = {}): SecretState => Object.fromEntries(Object.entries({
  config: "ns/all", name: "web-tls", failures: 0, staple: "web-tls-ocsp", serial: "0a", certStatus: "Good",
  thisUpdateMs: ms(-48), nextUpdateMs: ms(48), nextCheckAtMs: ms(-1), basis: BASIS, ...overrides,
}).filter(([, value]) => value !== undefined)) as unknown as SecretState;

interface Expect {
  readonly steps: readonly string[];
  /** Reasons of the Events the plan records at its end, in order. */
  readonly events?: readonly string[];
  /** The entry left (a subset of its fields), or forget/unchanged. */
  readonly state: Fields | "forget" | "unchanged";
  readonly recheckAt?: Date | undefined;
}

const SECONDS = (seconds: number) => new Date(NOW.getTime() + seconds * 1000);
/** Half the window after thisUpdate, less the staple's own share of the 10% jitter (drawn from LEAF and thisUpdate). */
function halfLessJitter(thisUpdateHours: number, usableForHours: number): Date {
  const thisUpdate = at(thisUpdateHours);
  const delay = usableForHours * HOUR * 0.5;
  return new Date(thisUpdate.getTime() + delay - refreshJitter(LEAF, thisUpdate) * JITTER_SHARE * delay);
}

const CASES: [string, Scenario, Script, Expect][] = [
  // Writes (DESIGN.md, "Rules that hold for every write").
  ["first staple: fetched, written, a Stapled Event, refreshed at half its window less its jitter",
    {}, { fetch: good(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: ["Stapled"], state: { staple: "web-tls-ocsp", certStatus: "Good", failures: 0, basis: BASIS }, recheckAt: halfLessJitter(0, 96) }],
  ["a revoked certificate is stapled as revoked, with a Revoked Event",
    {}, { fetch: { kind: "verified", response: response(0, 96, { kind: "revoked", revokedAt: at(-1) }) }, write: { result: "written" } },
    { steps: ["fetch", "write"], events: ["Revoked"], state: { certStatus: "Revoked", failures: 0 }, recheckAt: halfLessJitter(0, 96) }],
  ["a routine refresh writes and records no Event (Events mark transitions)",
    { stored: inPlace(-48, 96), previous: stapledEntry() }, { fetch: good(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: [], state: { thisUpdateMs: NOW.getTime(), failures: 0 }, recheckAt: halfLessJitter(0, 96) }],
  ["an answer identical to the staple in place: nothing written, no Event",
    { stored: inPlace(-48, 96), previous: stapledEntry() }, { fetch: good(), write: { result: "unchanged" } },
    { steps: ["fetch", "write"], events: [], state: { failures: 0 }, recheckAt: halfLessJitter(0, 96) }],
  ["a recovery after failures is an Event again",
    { stored: inPlace(-48, 96), previous: stapledEntry({ failures: 2, error: { code: "ResponderTimeout", message: "" } }) }, { fetch: good(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: ["Stapled"], state: { failures: 0, error: undefined } }],
  ["an older answer (a stale CDN) never replaces the staple in place: kept, described, retried",
    { stored: inPlace(-48, 96), previous: stapledEntry() }, { fetch: good(-72, 96) },
    { steps: ["fetch"], events: ["FetchFailed"], state: { staple: "web-tls-ocsp", serial: "0a", failures: 1, error: { code: "OlderResponse", message: "the responder said so" } }, recheckAt: SECONDS(7.5) }],
  ["unknown is never stapled: the staple in place stays",
    { stored: inPlace(-48, 96), previous: stapledEntry() }, { fetch: { kind: "verified", response: response(0, 96, { kind: "unknown" }) } },
    { steps: ["fetch"], events: ["FetchFailed"], state: { staple: "web-tls-ocsp", failures: 1, error: { code: "CertStatusUnknown", message: "the responder said so" } }, recheckAt: SECONDS(7.5) }],
  // Consumer profiles (consumer-profile.ts): a verified answer the target's consumer would refuse is not published.
  ["a response Envoy would refuse (no nextUpdate, key ocsp.staple): not written, the staple in place kept, ConsumerWouldReject, retried with backoff",
    { owner: envoyOwner, stored: inPlace(-48, 96), previous: stapledEntry({ staple: "web-tls" }) }, { fetch: withoutNextUpdate() },
    { steps: ["fetch"], events: ["FetchFailed"], state: { staple: "web-tls", serial: "0a", certStatus: "Good", failures: 1, error: { code: "ConsumerWouldReject", message: ENVOY_REFUSES } }, recheckAt: SECONDS(7.5) }],
  ["…with nothing in place: nothing written, ConsumerWouldReject",
    { owner: envoyOwner }, { fetch: withoutNextUpdate() },
    { steps: ["fetch"], events: ["FetchFailed"], state: { staple: undefined, failures: 1, error: { code: "ConsumerWouldReject", message: ENVOY_REFUSES } }, recheckAt: SECONDS(7.5) }],
  ["…at the staple's usable end: withdrawn (StapleExpired), as when the responder fails",
    { owner: envoyOwner, stored: inPlace(-96, 96), previous: stapledEntry({ staple: "web-tls", nextCheckAtMs: ms(0) }) }, { fetch: withoutNextUpdate() },
    { steps: ["fetch", "removeStaple"], events: ["FetchFailed"], state: { staple: undefined, failures: 1, error: { code: "StapleExpired", message: ENVOY_REFUSES } } }],
  ["target.consumer names the reader: for nginx (no rule) the same response is written",
    { owner: { ...envoyOwner, consumer: "Nginx" }, stored: inPlace(-48, 96), previous: stapledEntry({ staple: "web-tls" }) }, { fetch: withoutNextUpdate(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: [], state: { staple: "web-tls", failures: 0, error: undefined } }],
  ["target.consumer wins over the keys: Envoy named, key tls.ocsp, refused",
    { owner: { ...companionOwner, keys: ["tls.ocsp"], consumer: "Envoy" } }, { fetch: withoutNextUpdate() },
    { steps: ["fetch"], events: ["FetchFailed"], state: { staple: undefined, failures: 1, error: { code: "ConsumerWouldReject", message: ENVOY_REFUSES } } }],
  ["an answer every consumer takes is written for consumer Any",
    { owner: { ...envoyOwner, consumer: "Any" } }, { fetch: good(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: ["Stapled"], state: { staple: "web-tls", failures: 0 } }],
  // Failures: keep, warn, withdraw.
  ["a failure keeps a usable staple; FetchFailed on the first failure of a streak",
    { stored: inPlace(-48, 96), previous: stapledEntry() }, { fetch: failed() },
    { steps: ["fetch"], events: ["FetchFailed"], state: { staple: "web-tls-ocsp", failures: 1 }, recheckAt: SECONDS(7.5) }],
  ["later failures of the streak record no Event",
    { stored: inPlace(-48, 96), previous: stapledEntry({ failures: 3, error: { code: "ResponderTimeout", message: "" } }) }, { fetch: failed() },
    { steps: ["fetch"], events: [], state: { failures: 4 }, recheckAt: SECONDS(60) }],
  ["a failure that cannot pass by itself (BadSignature) waits the config's longest backoff, not the shortest",
    { stored: inPlace(-48, 96), previous: stapledEntry() }, { fetch: failed("BadSignature") },
    { steps: ["fetch"], events: ["FetchFailed"], state: { failures: 1, error: { code: "BadSignature", message: "the responder said so" } }, recheckAt: SECONDS(22.5 * 60) }],
  ["less than a day left while fetches fail: StapleExpiring, once per streak",
    { stored: inPlace(-90, 96), previous: stapledEntry({ failures: 3 }) }, { fetch: failed() },
    { steps: ["fetch"], events: ["StapleExpiring"], state: { expiringReported: true, failures: 4 } }],
  ["…and not again while the streak lasts",
    { stored: inPlace(-90, 96), previous: stapledEntry({ failures: 4, expiringReported: true }) }, { fetch: failed() },
    { steps: ["fetch"], events: [], state: { expiringReported: true, failures: 5 } }],
  ["a failure at the staple's usable end withdraws it: StapleWithdrawn (with the removal), FetchFailed",
    { stored: inPlace(-96, 96), previous: stapledEntry({ nextCheckAtMs: ms(0) }) }, { fetch: failed() },
    { steps: ["fetch", "removeStaple"], events: ["FetchFailed"], state: { staple: undefined, failures: 1 }, recheckAt: SECONDS(7.5) }],
  ["a failure with nothing in place writes and removes nothing",
    {}, { fetch: failed() },
    { steps: ["fetch"], events: ["FetchFailed"], state: { staple: undefined, failures: 1 }, recheckAt: SECONDS(7.5) }],
  // Rotation.
  ["Companion rotation: the new certificate's staple replaces the old one's in one write",
    { stored: inPlace(-1, 95, OLD_LEAF), previous: stapledEntry({ basis: scheduleBasis(OLD_LEAF, "config-uid", 1), nextCheckAtMs: ms(40) }) }, { fetch: good(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: ["Stapled"], state: { basis: BASIS, failures: 0 } }],
  ["Companion rotation the responder cannot answer yet: the old certificate's staple is withdrawn",
    { stored: inPlace(-1, 95, OLD_LEAF), previous: stapledEntry({ basis: scheduleBasis(OLD_LEAF, "config-uid", 1), nextCheckAtMs: ms(40) }) }, { fetch: failed() },
    { steps: ["fetch", "removeStaple"], events: ["FetchFailed"], state: { staple: undefined, failures: 1 } }],
  ["InPlace rotation: the old staple goes before the fetch (Envoy refuses a mismatched one), then the new one is written",
    { owner: inPlaceOwner, stored: inPlace(-1, 95, OLD_LEAF), previous: stapledEntry({ staple: "web-tls", basis: scheduleBasis(OLD_LEAF, "config-uid", 1) }) }, { fetch: good(), write: { result: "written" } },
    { steps: ["removeStaple", "fetch", "write"], events: ["Stapled"], state: { staple: "web-tls", failures: 0 } }],
  ["InPlace rotation the responder cannot answer: removed before the fetch, nothing removed after it",
    { owner: inPlaceOwner, stored: inPlace(-1, 95, OLD_LEAF), previous: stapledEntry({ staple: "web-tls", basis: scheduleBasis(OLD_LEAF, "config-uid", 1) }) }, { fetch: failed() },
    { steps: ["removeStaple", "fetch"], events: ["FetchFailed"], state: { staple: undefined, failures: 1 } }],
  // Write outcomes.
  ["a foreign Secret under the companion's name: TargetConflict, never overwritten, retried with backoff",
    {}, { fetch: good(), write: { result: "conflict", reason: "TargetConflict", message: "Secret ns/web-tls-ocsp is not ours" } },
    { steps: ["fetch", "write"], events: [], state: { staple: undefined, failures: 1, error: { code: "TargetConflict", message: "Secret ns/web-tls-ocsp is not ours" } }, recheckAt: SECONDS(7.5) }],
  ["an immutable TLS Secret in InPlace mode: the store refuses with TargetConflict; nothing is removed from it",
    { owner: inPlaceOwner, immutable: true }, { fetch: good(), write: { result: "conflict", reason: "TargetConflict", message: "Secret ns/web-tls is immutable" } },
    { steps: ["fetch", "write"], events: [], state: { failures: 1, error: { code: "TargetConflict", message: "Secret ns/web-tls is immutable" } } }],
  ["a write the API server refuses for good (RBAC, admission): WriteRefused, retried with backoff",
    {}, { fetch: good(), write: { result: "conflict", reason: "WriteRefused", message: "forbidden" } },
    { steps: ["fetch", "write"], events: [], state: { failures: 1, error: { code: "WriteRefused", message: "forbidden" } }, recheckAt: SECONDS(7.5) }],
  ["a write refused because the TLS Secret changed meanwhile: looked at again in a second, the staple in place still described",
    { owner: inPlaceOwner, stored: inPlace(-48, 96), previous: stapledEntry({ staple: "web-tls" }) }, { fetch: good(), write: { result: "stale" } },
    { steps: ["fetch", "write"], events: [], state: { staple: "web-tls", failures: 0 }, recheckAt: SECONDS(1) }],
  // Schedule: a staple in place sets it, at half its window less its own jitter, the same in every process.
  ["a refresh not due yet: no fetch, the schedule holds",
    { stored: inPlace(-1, 95), previous: stapledEntry({ nextCheckAtMs: ms(40) }) }, {},
    { steps: [], events: [], state: { nextCheckAtMs: ms(40), staple: "web-tls-ocsp" }, recheckAt: at(40) }],
  ["a restart with a valid staple in place: no fetch, the refresh scheduled from the staple",
    { stored: inPlace(-1, 95) }, {},
    { steps: [], events: [], state: { staple: "web-tls-ocsp", certStatus: "Good", failures: 0, basis: BASIS }, recheckAt: halfLessJitter(-1, 95) }],
  ["a restart with a staple that no longer verifies: fetched at once",
    { stored: unusable() }, { fetch: good(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: ["Stapled"], state: { failures: 0 } }],
  ["an edited config (new generation) with a valid staple: rescheduled from the staple, not refetched",
    { stored: inPlace(-1, 95), previous: stapledEntry({ basis: scheduleBasis(LEAF, "config-uid", 0), nextCheckAtMs: ms(-1) }) }, {},
    { steps: [], events: [], state: { basis: BASIS }, recheckAt: halfLessJitter(-1, 95) }],
  ["our staple was deleted by someone: the Secret is still there, so it is written again",
    { previous: stapledEntry({ nextCheckAtMs: ms(40) }) }, { exists: true, fetch: good(), write: { result: "written" } },
    { steps: ["checkExists", "fetch", "write"], events: ["Stapled"], state: { staple: "web-tls-ocsp" } }],
  ["our staple went with its Secret (the cache has not seen the deletion yet): nothing is written",
    { previous: stapledEntry({ nextCheckAtMs: ms(40) }) }, { exists: false },
    { steps: ["checkExists"], events: [], state: "unchanged" }],
  // The leaf itself.
  ["an expired leaf: never fetched for; the staple in place withdrawn; CertificateExpired reported once",
    { chain: { ...validLeaf, notAfter: at(-1) }, stored: inPlace(-48, 96), previous: stapledEntry() }, {},
    { steps: ["removeStaple"], events: ["CertificateExpired"], state: { failures: 0, error: { code: "CertificateExpired", message: `the certificate in tls.crt expired at ${at(-1).toISOString()}: renew it; no staple is fetched for an expired certificate` } }, recheckAt: undefined }],
  ["…and not reported again",
    { chain: { ...validLeaf, notAfter: at(-1) }, previous: stapledEntry({ staple: undefined, error: { code: "CertificateExpired", message: "" } }) }, {},
    { steps: [], events: [], state: { failures: 0 }, recheckAt: undefined }],
  ["a leaf not valid yet: looked at again at its notBefore",
    { chain: { ...validLeaf, notBefore: at(2) } }, {},
    { steps: [], events: ["CertificateNotYetValid"], state: { error: { code: "CertificateNotYetValid", message: `the certificate in tls.crt is valid only from ${at(2).toISOString()}: its staple is fetched then` } }, recheckAt: at(2) }],
  ["garbage in tls.crt: reported with its code, looked at again only at the longest backoff",
    { chain: { kind: "unreadable", code: "BadCertificate", message: "tls.crt is not PEM" } }, {},
    { steps: [], events: [], state: { failures: 1, error: { code: "BadCertificate", message: "tls.crt is not PEM" } }, recheckAt: SECONDS(22.5 * 60) }],
  ["an issuer whose AIA download failed for now: retried with the usual backoff",
    { chain: { kind: "unreadable", code: "ResponderUnreachable", message: "connect ECONNREFUSED" } }, {},
    { steps: [], events: [], state: { failures: 1 }, recheckAt: SECONDS(7.5) }],
  // The end of public OCSP (README, "When your CA turns OCSP off").
  ["a leaf that names no OCSP responder: nothing fetched, no retry scheduled; reported as a notice (not an error) with one Normal Event",
    { chain: noResponderLeaf }, {},
    { steps: [], events: ["NoResponderURL"], state: { failures: 0, noResponder: true, error: undefined, notice: { code: "NoResponderURL", message: `${NO_RESPONDER_MESSAGE}; expected, as the certificate is not must-staple` }, nextCheckAtMs: undefined, mustStaple: undefined }, recheckAt: undefined }],
  ["…and not reported again",
    { chain: noResponderLeaf, previous: { config: "ns/all", name: "web-tls", failures: 0, noResponder: true, basis: BASIS } }, {},
    { steps: [], events: [], state: { noResponder: true, error: undefined }, recheckAt: undefined }],
  ["a leaf that names no responder over a staple in place (fetched through a urlOverride since removed): the staple goes, nothing would refresh it",
    { chain: noResponderLeaf, stored: inPlace(-1, 95), previous: stapledEntry() }, {},
    { steps: ["removeStaple"], events: ["NoResponderURL"], state: { staple: undefined, noResponder: true }, recheckAt: undefined }],
  ["a must-staple leaf that names no responder: a failure (NoResponderURL), flagged MustStapleUnstapled",
    { chain: { ...noResponderLeaf, mustStaple: true } }, {},
    { steps: [], events: ["MustStapleUnstapled"], state: { noResponder: true, mustStaple: true, notice: undefined, error: { code: "NoResponderURL", message: `${NO_RESPONDER_MESSAGE}; the certificate is must-staple, so browsers that enforce must-staple refuse it: reissue it without must-staple (or from a CA with OCSP), or set spec.responder.urlOverride` } }, recheckAt: undefined }],
  ["…and flagged once",
    { chain: { ...noResponderLeaf, mustStaple: true }, previous: { config: "ns/all", name: "web-tls", failures: 0, noResponder: true, mustStaple: true, error: { code: "NoResponderURL", message: "" } } }, {},
    { steps: [], events: [], state: { mustStaple: true, error: { code: "NoResponderURL", message: `${NO_RESPONDER_MESSAGE}; the certificate is must-staple, so browsers that enforce must-staple refuse it: reissue it without must-staple (or from a CA with OCSP), or set spec.responder.urlOverride` } } }],
  ["a must-staple leaf stapled as usual: marked, nothing flagged",
    { chain: mustStapleLeaf }, { fetch: good(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: ["Stapled"], state: { mustStaple: true, staple: "web-tls-ocsp", error: undefined } }],
  ["a must-staple leaf whose responder fails with no staple in place: FetchFailed and MustStapleUnstapled",
    { chain: mustStapleLeaf }, { fetch: failed() },
    { steps: ["fetch"], events: ["FetchFailed", "MustStapleUnstapled"], state: { mustStaple: true, staple: undefined, failures: 1 }, recheckAt: SECONDS(7.5) }],
  ["a must-staple leaf whose responder fails while its staple is usable: kept, not flagged",
    { chain: mustStapleLeaf, stored: inPlace(-48, 96), previous: stapledEntry({ mustStaple: true }) }, { fetch: failed() },
    { steps: ["fetch"], events: ["FetchFailed"], state: { mustStaple: true, staple: "web-tls-ocsp", failures: 1 } }],
  ["a must-staple leaf whose staple is withdrawn at its end: StapleWithdrawn with the removal, then MustStapleUnstapled",
    { chain: mustStapleLeaf, stored: inPlace(-96, 96), previous: stapledEntry({ mustStaple: true, nextCheckAtMs: ms(0) }) }, { fetch: failed() },
    { steps: ["fetch", "removeStaple"], events: ["FetchFailed", "MustStapleUnstapled"], state: { mustStaple: true, staple: undefined } }],
  ["a urlOverride (the reconciler then says the leaf has a responder): fetched as usual",
    { chain: { ...validLeaf, noResponder: false } }, { fetch: good(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: ["Stapled"], state: { staple: "web-tls-ocsp", noResponder: undefined } }],
  // Selection and clean-up.
  ["a deleted Secret is forgotten (its companion goes with it by garbage collection)",
    { deleted: true, previous: stapledEntry() }, {},
    { steps: [], events: [], state: "forget" }],
  ["a deselected Secret: its companion deleted, its entry forgotten",
    { owner: undefined, companions: ["web-tls-ocsp"], previous: stapledEntry() }, {},
    { steps: ["deleteCompanion web-tls-ocsp"], events: [], state: "forget" }],
  ["a companion under an old name suffix goes; the one the config names stays",
    { companions: ["web-tls-ocsp", "web-tls-staple"], stored: inPlace(-1, 95), previous: stapledEntry({ nextCheckAtMs: ms(40) }) }, {},
    { steps: ["deleteCompanion web-tls-staple"], events: [], state: { nextCheckAtMs: ms(40) } }],
  ["InPlace keys no config asks for any more come out, and the reconcile ends (the update brings it back)",
    { owner: undefined, inPlaceKeys: ["tls.ocsp-staple"], previous: stapledEntry({ staple: "web-tls" }) }, {},
    { steps: ["removeInPlaceKeys"], events: [], state: "unchanged" }],
  ["InPlace keys other than the config's now: the old ones come out first",
    { owner: inPlaceOwner, inPlaceKeys: ["old.ocsp"] }, {},
    { steps: ["removeInPlaceKeys"], events: [], state: "unchanged" }],
  ["InPlace keys in an immutable Secret cannot come out: nothing is tried",
    { owner: undefined, inPlaceKeys: ["tls.ocsp-staple"], immutable: true }, {},
    { steps: [], events: [], state: "forget" }],
  ["a Secret moved to InPlace: the Companion-mode companion goes, the staple is fetched for the TLS Secret",
    { owner: inPlaceOwner, companions: ["web-tls-ocsp"] }, { fetch: good(), write: { result: "written" } },
    { steps: ["deleteCompanion web-tls-ocsp", "fetch", "write"], events: ["Stapled"], state: { staple: "web-tls" } }],
  // chain: Full. Companion mode plans the leaf exactly as Leaf does (the intermediates: planChain, below).
  ["chain: Full in Companion mode: the leaf is fetched and written as with Leaf",
    { owner: { ...companionOwner, chain: "Full" } }, { fetch: good(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: ["Stapled"], state: { staple: "web-tls-ocsp", certStatus: "Good" } }],
  ["chain: Full in InPlace mode: the leaf is fetched and written into the TLS Secret as with Leaf",
    { owner: { ...inPlaceOwner, chain: "Full" } }, { fetch: good(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: ["Stapled"], state: { staple: "web-tls", certStatus: "Good" } }],
  ["InPlace keys of a chain: Full (<key>.<n>, the bundle) beside the config's: nothing is removed, the staple is kept",
    { owner: { ...inPlaceOwner, chain: "Full" }, inPlaceKeys: [...inPlaceOwner.keys, `${inPlaceOwner.keys[0] ?? ""}.1`, `${inPlaceOwner.keys[0] ?? ""}.pem`], stored: inPlace(-1, 95), previous: stapledEntry({ staple: "web-tls", nextCheckAtMs: ms(40) }) }, {},
    { steps: [], events: [], state: { staple: "web-tls", nextCheckAtMs: ms(40) } }],
  ["the same keys after a return to chain: Leaf: left to the chain keeper, which removes the chain's alone (the leaf's staple stays)",
    { owner: inPlaceOwner, inPlaceKeys: [...inPlaceOwner.keys, `${inPlaceOwner.keys[0] ?? ""}.1`], stored: inPlace(-1, 95), previous: stapledEntry({ staple: "web-tls", nextCheckAtMs: ms(40) }) }, {},
    { steps: [], events: [], state: { staple: "web-tls", nextCheckAtMs: ms(40) } }],
  ["InPlace keys beyond the config's that no chain derives: all come out first",
    { owner: { ...inPlaceOwner, chain: "Full" }, inPlaceKeys: [...inPlaceOwner.keys, "other.ocsp"] }, {},
    { steps: ["removeInPlaceKeys"], events: [], state: "unchanged" }],
  ["chain: Full with a target key it would overwrite (a spec stored before the CRD's rule): refused (ChainKeyCollision) naming the keys, nothing fetched or written",
    { owner: { ...companionOwner, chain: "Full", keys: ["tls.ocsp", "tls.ocsp.1", "tls.ocsp.pem"] } }, {},
    { steps: [], events: [], state: { staple: undefined, error: { code: "ChainKeyCollision", message: "chain: Full would overwrite target key(s) tls.ocsp.1, tls.ocsp.pem with an intermediate's staple (<key>.<n>) or the bundle (tls.ocsp.pem); rename or remove them" } }, recheckAt: undefined }],
  ["chain: Full with a colliding key over a staple in place (the config was Leaf): the staple goes, since nothing would refresh it",
    { owner: { ...companionOwner, chain: "Full", keys: ["ocsp.staple.8", "ocsp.staple"] }, stored: inPlace(-1, 95), previous: stapledEntry() }, {},
    { steps: ["removeStaple"], events: [], state: { staple: undefined, error: { code: "ChainKeyCollision", message: "chain: Full would overwrite target key(s) ocsp.staple.8 with an intermediate's staple (<key>.<n>) or the bundle (ocsp.staple.8.pem); rename or remove them" } }, recheckAt: undefined }],
  ["chain: Leaf with the same keys: no collision, stapled as usual",
    { owner: { ...companionOwner, keys: ["tls.ocsp", "tls.ocsp.1", "tls.ocsp.pem"] } }, { fetch: good(), write: { result: "written" } },
    { steps: ["fetch", "write"], events: ["Stapled"], state: { staple: "web-tls-ocsp" } }],
];

void describe("the reconcile plan (facts, staple in place, fetch outcome, config, now → actions, entry, Events, next check)", () => {
  for (const [name, scenario, script, expected] of CASES) {
    void it(name, () => {
      const { steps, done } = drive(scenario, script);
      assert.deepEqual(steps, expected.steps, "actions and I/O");
      if (expected.events !== undefined) assert.deepEqual(done.events.map((event) => event.reason), expected.events, "Events");
      if (typeof expected.state === "string") assert.equal(done.state, expected.state);
      else {
        const state = done.state;
        assert.ok(typeof state === "object", `an entry is left, not ${JSON.stringify(state)}`);
        for (const [field, value] of Object.entries(expected.state)) assert.deepEqual(state[field as keyof SecretState], value, `entry field ${field}`);
      }
      if ("recheckAt" in expected) assert.deepEqual(done.recheckAt, expected.recheckAt, "next check");
    });
  }

  void it("the removal Events ride on their action: recorded only if the removal removed something", () => {
    const plan = planReconcile(facts({ chain: { ...validLeaf, notAfter: at(-1) }, stored: inPlace(-48, 96) }), { step: "start" });
    assert.deepEqual(plan.actions.map((action) => action.kind === "removeStaple" ? action.event?.reason : undefined), ["StapleWithdrawn"]);
  });

  void it("the status entry names the touched configs: the one the Secret belonged to and its owner now", () => {
    const { done } = drive({ owner: { ...companionOwner, key: "ns/new" }, stored: inPlace(-1, 95), previous: stapledEntry({ config: "ns/all", nextCheckAtMs: ms(40) }) });
    assert.deepEqual([...done.touchedConfigs].sort(), ["ns/all", "ns/new"]);
  });

  void it("a restart schedules the refresh where the write had, whatever the random source (the status is not rewritten)", () => {
    const written = drive({ random: () => 0.1 }, { fetch: good(), write: { result: "written" } });
    const restarted = drive({ stored: inPlace(0, 96), random: () => 0.9 });
    assert.ok(written.done.recheckAt !== undefined);
    assert.deepEqual(restarted.done.recheckAt, written.done.recheckAt);
  });

  void it("an entry keeps its times as epoch milliseconds, not Dates (one entry is kept per Secret)", () => {
    const { done } = drive({ stored: inPlace(-48, 96), previous: stapledEntry() }, { fetch: good(), write: { result: "written" } });
    assert.ok(typeof done.state === "object");
    assert.deepEqual([done.state.thisUpdateMs, done.state.nextUpdateMs, typeof done.state.nextCheckAtMs], [ms(0), ms(96), "number"]);
    assert.deepEqual(Object.entries(done.state).filter(([, value]) => value instanceof Date).map(([field]) => field), []);
  });

  void it("is pure: the same facts give the same plan", () => {
    const scenario: Scenario = { stored: inPlace(-48, 96), previous: stapledEntry() };
    assert.deepEqual(drive(scenario, { fetch: failed() }), drive(scenario, { fetch: failed() }));
  });
});

// chain: Full — the intermediates' part (chain-plan.ts), planned beside the leaf's, which it never touches.
const INT = "sha256-of-the-intermediate";
const element = (fields: Partial<ElementFacts> = {}): ElementFacts => ({
  index: 1, subject: "CN=Int", serial: "1f", certificateSha256: INT, notAfter: at(24 * 365), stored: undefined, fetched: undefined, ...fields,
});
const fetchedGood = (thisUpdateHours = 0, usableForHours = 96): ElementFetch => ({ ok: true, response: response(thisUpdateHours, usableForHours) });
const fetchedRevoked = (): ElementFetch => ({ ok: true, response: response(0, 96, { kind: "revoked", revokedAt: at(-1000) }) });
const fetchFailed = (code: "ResponderUnreachable" | "NoResponderURL" = "ResponderUnreachable"): ElementFetch => ({ ok: false, code, message: "the intermediate's responder said so" });
const chainEntry = (fields: Partial<ChainElementState> = {}): ChainElementState => ({ subject: "CN=Int", serial: "1f", failures: 0, checkAtMs: ms(-1), certStatus: "Good", ...fields });
/** The default target's consumers with chain: Full: nginx and HAProxy (tls.ocsp), and Exim/GnuTLS (the bundle). */
const FULL_CHAIN_PROFILES = profilesFor("Auto", ["tls.ocsp"], "Full");
const chainPlan = (elements: ElementFacts[], previous?: ChainElementState[], profiles = FULL_CHAIN_PROFILES) =>
  planChain({ elements, previous, now: NOW, policy: DEFAULT_REFRESH_POLICY, random: () => 0.5, holder: "web-tls-ocsp", profiles });


interface ChainExpect {
  /** Per intermediate: its key's staple after the plan, by certStatus; "-" absent. */
  readonly staples: readonly string[];
  readonly bundled: number | undefined;
  /** Per intermediate: the entry's certStatus or error code. */
  readonly entries: readonly string[];
  readonly events?: readonly string[];
}

const CHAIN_CASES: [string, ElementFacts[], ChainElementState[] | undefined, ChainExpect][] = [
  ["all good: each intermediate stapled and bundled after the leaf, no Event",
    [element({ fetched: fetchedGood() }), element({ index: 2, subject: "CN=Int2", serial: "2f", fetched: fetchedGood() })], undefined,
    { staples: ["good", "good"], bundled: 2, entries: ["Good", "Good"] }],
  ["an intermediate failing with nothing in place: reported on its own, nothing bundled after the leaf, one FetchFailed Event",
    [element({ fetched: fetchFailed() })], undefined,
    { staples: ["-"], bundled: 0, entries: ["ResponderUnreachable"], events: ["FetchFailed"] }],
  ["an intermediate failing with a usable staple in place: kept and still bundled, the error listed",
    [element({ stored: response(-48, 96), fetched: fetchFailed() })], [chainEntry()],
    { staples: ["good"], bundled: 1, entries: ["ResponderUnreachable"], events: ["FetchFailed"] }],
  ["an intermediate with no OCSP URL: a NoResponderURL notice (not an error), nothing stapled for it, one Normal Event",
    [element({ fetched: fetchFailed("NoResponderURL") })], undefined,
    { staples: ["-"], bundled: 0, entries: ["notice NoResponderURL"], events: ["NoResponderURL"] }],
  ["the same intermediate looked at again: no second Event",
    [element({ fetched: fetchFailed("NoResponderURL") })], [{ subject: "CN=Int", serial: "1f", failures: 0, checkAtMs: ms(-1), notice: { code: "NoResponderURL", message: "" } }],
    { staples: ["-"], bundled: 0, entries: ["notice NoResponderURL"] }],
  ["an intermediate that lost its OCSP URL with a staple in place: withdrawn (nothing would refresh it), the notice listed",
    [element({ stored: response(-1, 96), fetched: fetchFailed("NoResponderURL") })], [chainEntry()],
    { staples: ["-"], bundled: 0, entries: ["notice NoResponderURL"], events: ["NoResponderURL", "StapleWithdrawn"] }],
  ["an intermediate's staple at its usable end while its responder fails: withdrawn alone (StapleWithdrawn)",
    [element({ stored: response(-96, 96), fetched: fetchFailed() })], [chainEntry({ failures: 3 })],
    { staples: ["-"], bundled: 0, entries: ["ResponderUnreachable"], events: ["StapleWithdrawn"] }],
  ["not due with a usable staple in place: kept and bundled, nothing fetched, no Event",
    [element({ stored: response(-1, 96) })], [chainEntry({ checkAtMs: ms(40) })],
    { staples: ["good"], bundled: 1, entries: ["Good"] }],
  ["not due and its staple at its end: withdrawn without a fetch",
    [element({ stored: response(-96, 96) })], [chainEntry({ checkAtMs: ms(1) })],
    { staples: ["-"], bundled: 0, entries: ["-"] }],
  ["the first of two intermediates missing: the bundle holds the leaf alone (positions must match elements)",
    [element({ fetched: fetchFailed() }), element({ index: 2, subject: "CN=Int2", serial: "2f", fetched: fetchedGood() })], undefined,
    { staples: ["-", "good"], bundled: 0, entries: ["ResponderUnreachable", "Good"], events: ["FetchFailed"] }],
  ["a revoked intermediate: stapled as revoked, a Revoked Event naming it, no bundle (GnuTLS would refuse it and Exim its STARTTLS)",
    [element({ fetched: fetchedRevoked() })], [chainEntry()],
    { staples: ["revoked"], bundled: undefined, entries: ["Revoked"], events: ["Revoked"] }],
  ["a revoked intermediate already reported: refreshed without another Event, still no bundle",
    [element({ fetched: fetchedRevoked() })], [chainEntry({ certStatus: "Revoked" })],
    { staples: ["revoked"], bundled: undefined, entries: ["Revoked"] }],
];

void describe("planChain (chain: Full, the intermediates)", () => {
  for (const [name, elements, previous, expected] of CHAIN_CASES) {
    void it(name, () => {
      const plan = chainPlan(elements, previous);
      assert.deepEqual(plan.staples.map((staple) => staple?.certStatus.kind ?? "-"), expected.staples);
      assert.equal(plan.bundled, expected.bundled);
      assert.deepEqual(plan.entries.map((entry) => entry.error?.code ?? (entry.notice === undefined ? undefined : `notice ${entry.notice.code}`) ?? entry.certStatus ?? "-"), expected.entries);
      assert.deepEqual(plan.events.map((event) => event.reason), expected.events ?? []);
    });
  }

  void it("an intermediate's response a consumer would refuse (no nextUpdate: HAProxy) is not published: ConsumerWouldReject, the staple in place kept and bundled", () => {
    const plan = chainPlan([element({ stored: response(-24, 96), fetched: { ok: true, response: (withoutNextUpdate() as { response: VerifiedResponse }).response } })], [chainEntry()]);
    assert.equal(plan.staples[0]?.thisUpdate.getTime(), ms(-24), "the staple in place, not the refused one");
    assert.equal(plan.bundled, 1);
    assert.equal(plan.entries[0]?.error?.code, "ConsumerWouldReject");
    assert.match(plan.entries[0].error.message, /not published: HAProxy would reject it \(NextUpdateRequired\)/);
    assert.deepEqual(plan.events.map((event) => event.reason), ["FetchFailed"]);
  });

  void it("with chain: Full, Exim/GnuTLS's rule applies to a key no other consumer reads: the subject's SingleResponse must come first (the bundle's reader)", () => {
    const second = { ...response(0, 96), singleResponses: 2, subjectIndex: 1 };
    const plan = chainPlan([element({ fetched: { ok: true, response: second } })], undefined, profilesFor("Auto", ["staple.der"], "Full"));
    assert.equal(plan.staples[0], undefined);
    assert.match(plan.entries[0]?.error?.message ?? "", /Exim would reject it \(SubjectFirst\)/);
    assert.notEqual(chainPlan([element({ fetched: { ok: true, response: second } })], undefined, profilesFor("Auto", ["staple.der"])).staples[0], undefined, "without chain: Full, no consumer rule for that key");
  });

  void it("names the revoked intermediate in its Event", () => {
    const [event] = chainPlan([element({ fetched: fetchedRevoked() })]).events;
    assert.match(event?.message ?? "", /Intermediate "CN=Int" \(serial 1f\) is revoked/);
  });

  void it("looks again at the earliest schedule of all elements: a short-lived intermediate staple sets it", () => {
    const plan = chainPlan([element({ fetched: fetchedGood(0, 96) }), element({ index: 2, subject: "CN=Int2", serial: "2f", fetched: fetchedGood(0, 8) })]);
    const [long, short] = plan.entries.map((entry) => entry.checkAtMs);
    assert.ok(short !== undefined && long !== undefined && short < long);
    assert.equal(plan.recheckAt?.getTime(), short);
    assert.ok(short > NOW.getTime() && short <= ms(4));
  });

  void it("retries a failing intermediate with the config's backoff", () => {
    const plan = chainPlan([element({ fetched: fetchFailed() })]);
    assert.ok(plan.recheckAt !== undefined && plan.recheckAt > NOW && plan.recheckAt <= at(1));
  });

  void it("is due the first time, when the chain changed, when a check time came or a listed staple vanished; not otherwise", () => {
    const listed = [chainEntry({ checkAtMs: ms(1) })];
    const inPlaceGood = [element({ stored: response(-1, 96) })];
    assert.equal(chainDue(inPlaceGood, undefined, NOW), true);
    assert.equal(chainDue(inPlaceGood, listed, NOW), false);
    assert.equal(chainDue([element({ serial: "99", stored: response(-1, 96) })], listed, NOW), true);
    assert.equal(chainDue(inPlaceGood, [chainEntry({ checkAtMs: ms(-1) })], NOW), true);
    assert.equal(chainDue([element()], listed, NOW), true);
  });
});
