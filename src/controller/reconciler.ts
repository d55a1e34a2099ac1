import type { CoreV1Api } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Certificate } from "../ocsp/certificate.ts";
import { sha256Hex } from "../ocsp/bytes.ts";
import { ChainCache } from "../ocsp/chain-cache.ts";
import type { Chain } from "../ocsp/chain.ts";
import { certIdsFor } from "../ocsp/cert-id.ts";
import type { Clock } from "../ocsp/clock.ts";
import { isOcspError } from "../ocsp/errors.ts";
import type { FoundIssuer } from "../ocsp/issuer.ts";
import { ocspUrlHint } from "../ocsp/ocsp-url-hint.ts";
import type { VerificationCache } from "../ocsp/verification-cache.ts";
import { verifyStaple } from "../ocsp/verify-staple.ts";
import type { FetchOutcome } from "../staple/decide.ts";
import { fetchLikely } from "../staple/fetch-likely.ts";
import { planReconcile, touchedConfigs, type Action, type ChainFacts, type Done, type OwnerFacts, type PlanFacts, type PlannedLog, type Progress, type StapleInPlace, type WriteResult, type WriteStaple } from "../staple/plan.ts";
import type { Random } from "../staple/refresh-policy.ts";
import type { SecretState } from "../staple/secret-state.ts";
import type { CompanionSnapshot } from "../kube/companion-snapshot.ts";
import type { IndexedMap } from "../kube/indexed-map.ts";
import type { EventRecorder, EventTarget } from "../kube/event-recorder.ts";
import { configKey, type StapleConfig } from "../kube/staple-config.ts";
import { secretStillThere } from "../kube/secret-still-there.ts";
import type { TlsSecret } from "../kube/tls-secret.ts";
import type { ChainStaples } from "../kube/chain-keys.ts";
import { ChainKeeper, type ChainReconcile } from "./chain-keeper.ts";
import { FetcherStopped, HostBusy } from "./host-busy.ts";
import { Intermediates } from "./intermediates.ts";
import type { StapleFetcher } from "./staple-fetcher.ts";
import { deleteCompanion, removeInPlaceStaple, stapleStore, type StapleStore } from "./staple-store.ts";

export interface ReconcilerDependencies {
  readonly secrets: ReadonlyMap<string, TlsSecret>;
  /** The StapleConfig that owns a Secret (the oldest selecting one), from the controller's selection index. */
  readonly ownerOf: (secretKey: string) => StapleConfig | undefined;
  /** Companions, also by their source Secret's key. */
  readonly companions: ReadonlyMap<string, CompanionSnapshot> & Pick<IndexedMap<CompanionSnapshot>, "itemsFor">;
  readonly fetcher: StapleFetcher;
  readonly api: CoreV1Api;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  /** Downloads AIA caIssuers (through the same limits as OCSP). */
  readonly downloadIssuer: (url: string) => Promise<Certificate[]>;
  readonly events: EventRecorder;
  /** The process's cache of authentic responses: a staple in place is verified once, not at every reconcile. */
  readonly verificationCache?: VerificationCache;
  /** Told of every API write this reconciler makes (for metrics). */
  readonly onWrite?: (kind: "companion" | "in-place" | "delete") => void;
  /** Runs while the reconcile waits on a responder: the controller frees the reconcile's worker slot meanwhile. */
  readonly whileWaiting?: <T>(work: Promise<T>) => Promise<T>;
  /** Runs every API call of a plan: the controller puts it in its bounded writer pool and frees the worker slot meanwhile. */
  readonly whileWriting?: <T>(write: () => Promise<T>) => Promise<T>;
}

/** When to look at the key again; nothing means only when something changes. */
export interface ReconcileOutcome {
  readonly requeueAfterMs?: number;
  /** The responder's host had a full backlog: look again when this resolves (it has room). */
  readonly retryWhen?: Promise<void>;
  /** StapleConfigs whose status may have changed. */
  readonly touchedConfigs: readonly string[];
}

/** What gathering found besides the plan's facts: the objects that executing the plan needs. */
interface Gathered {
  readonly facts: PlanFacts;
  readonly secret?: TlsSecret;
  readonly owner?: { readonly config: StapleConfig; readonly store: StapleStore; readonly chain?: Chain; readonly issuer?: FoundIssuer };
}

/**
 * Keeps one TLS Secret's staple right: gathers the facts (caches, the chain,
 * the staple in place re-verified), asks the pure plan of src/staple/plan.ts
 * what to do, and executes it — the API actions, then the one piece of I/O
 * the plan asks for (a fetch, a write, an existence check), whose outcome
 * goes back to the plan — until the plan is done. It decides nothing itself
 * and never touches the queue: it returns when to come back
 * (controller-runtime's Result), and the controller acts on that.
 */
export class SecretReconciler {
  readonly states = new Map<string, SecretState>();
  private readonly deps: ReconcilerDependencies;
  /** An unchanged tls.crt is parsed, and its issuer found, once per burst of reconciles. */
  private readonly chains = new ChainCache();
  /** chain: Full: the intermediates' staples and the bundle beside the leaf's. */
  private readonly chainKeeper: ChainKeeper;
  /**
   * The responder URL read from the leaf of a Secret turned away before
   * parsing, until it gets its turn: in a cold start a woken Secret can find
   * the room taken again, and each look cost a certificate decode.
   */
  private readonly waitingFor = new WeakMap<TlsSecret, string>();

  constructor(deps: ReconcilerDependencies) {
    this.deps = deps;
    this.chainKeeper = new ChainKeeper({
      intermediates: new Intermediates(deps.downloadIssuer), fetcher: deps.fetcher,
      whileWaiting: deps.whileWaiting ?? (<T>(work: Promise<T>) => work),
      ...(deps.verificationCache === undefined ? {} : { verificationCache: deps.verificationCache }),
      api: (call) => this.api(call),
      onWrite: (kind) => deps.onWrite?.(kind),
    });
  }

  async reconcile(key: string): Promise<ReconcileOutcome> {
    const gathered = await this.gather(key);
    if ("responderFull" in gathered) return { retryWhen: gathered.responderFull, touchedConfigs: [] };
    let progress: Progress = { step: "start" };
    let responder = "";
    // chain: Full: the intermediates' keys go with the leaf's write (one apply), or are written at the end.
    const chainWork = this.chainWork(gathered);
    let wrote = false;
    for (;;) {
      const plan = planReconcile(gathered.facts, progress);
      for (const action of plan.actions) await this.execute(action, gathered);
      const { next } = plan;
      if (next.kind === "done") return this.settle(key, chainWork === undefined ? next : await chainWork.complete(next, wrote), gathered);
      if (next.kind === "checkExists") {
        const { secret } = gathered;
        progress = { step: "checkedExists", exists: secret === undefined ? false : await this.api(() => secretStillThere(this.deps.api, secret)) };
      } else if (next.kind === "fetch") {
        if (next.meanwhile !== undefined) this.states.set(key, next.meanwhile);
        const fetched = await this.fetch(gathered);
        if (fetched === "stopped") return { touchedConfigs: [] };
        if ("hostFree" in fetched) return { retryWhen: fetched.hostFree, touchedConfigs: touchedConfigs(gathered.facts) };
        responder = fetched.responder;
        progress = { step: "fetched", outcome: fetched.outcome, ...(fetched.message === undefined ? {} : { message: fetched.message }) };
      } else {
        const chain = await chainWork?.staples();
        wrote = true;
        progress = { step: "wrote", write: next, result: await this.write(next, gathered, responder, chain) };
      }
    }
  }

  /** The facts the plan decides on, read from the caches; the chain and the staple in place only for an owned Secret. */
  private async gather(key: string): Promise<Gathered | { readonly responderFull: Promise<void> }> {
    const base = { previous: this.states.get(key), now: this.deps.clock.now(), random: this.deps.random };
    const secret = this.deps.secrets.get(key);
    if (secret === undefined) return { facts: { ...base, secret: undefined, owner: undefined } };
    const config = this.deps.ownerOf(key);
    const secretFacts = { name: secret.name, companions: [...this.deps.companions.itemsFor(key)].map((companion) => companion.name), inPlaceKeys: secret.inPlace?.keys, immutable: secret.immutable };
    if (config === undefined) return { facts: { ...base, secret: secretFacts, owner: undefined }, secret };
    const store = stapleStore(this.deps.api, secret, config, this.deps.companions);
    const responderFull = this.responderFull(secret, config, store, base.previous, base.now);
    if (responderFull !== undefined) return { responderFull };
    const read = await this.readChain(secret, config.responder.urlOverride === "");
    const stored = "chain" in read ? await this.stapleInPlace(store, config, read.chain, read.issuer, base.now) : undefined;
    return {
      facts: { ...base, secret: secretFacts, owner: { config: ownerFacts(config, store), chain: read.facts, stored } },
      secret,
      owner: { config, store, ...("chain" in read ? { chain: read.chain, issuer: read.issuer } : {}) },
    };
  }

  /**
   * When this Secret will most likely fetch and its responder's backlog is
   * full: the promise of that host's room, found without parsing the chain
   * (the URL from config or a cheap read of the leaf's AIA). The reconcile
   * steps aside before parsing, as it would after (HostBusy), for free.
   */
  private responderFull(secret: TlsSecret, config: StapleConfig, store: StapleStore, previous: SecretState | undefined, now: Date): Promise<void> | undefined {
    const leaf = secret.chain.ders[0];
    if (leaf === undefined) return undefined;
    const stored = store.stored;
    const stapleInPlaceFor = stored?.data[config.target.keys[0] ?? ""] === undefined ? undefined : stored.certificateSha256;
    if (!fetchLikely({ leafSha256: sha256Hex(leaf), stapleInPlaceFor, nextCheckAtMs: previous?.nextCheckAtMs, now })) return undefined;
    const url = config.responder.urlOverride === "" ? (this.waitingFor.get(secret) ?? ocspUrlHint(leaf)) : config.responder.urlOverride;
    const room = url === undefined ? undefined : this.deps.fetcher.roomFor(url);
    if (room === undefined || url === undefined) this.waitingFor.delete(secret);
    else this.waitingFor.set(secret, url);
    return room;
  }

  /** `ownUrls`: the leaf's AIA OCSP URLs are asked (no urlOverride), so a leaf without one has no responder. */
  private async readChain(secret: TlsSecret, ownUrls: boolean): Promise<{ facts: ChainFacts; chain: Chain; issuer: FoundIssuer } | { facts: ChainFacts }> {
    try {
      // Found once here: the fetch and the staple in place use it, neither looks again.
      // The PEM text is rebuilt from the cached DER only on a miss (getters).
      const source = { get tlsCrt() { return secret.chain.pem; }, get caCrt() { return secret.caBundle?.pem; } };
      const { chain, issuer } = await this.chains.read(source, this.deps.downloadIssuer, `${secret.chain.sha256} ${secret.caBundle?.sha256 ?? "-"}`);
      const { leaf } = chain;
      const facts: ChainFacts = {
        kind: "read", leafSha256: leaf.sha256, notBefore: leaf.notBefore, notAfter: leaf.notAfter,
        mustStaple: leaf.mustStaple, noResponder: ownUrls && leaf.ocspUrls.length === 0,
      };
      return { facts, chain, issuer };
    } catch (error) {
      if (!isOcspError(error)) throw error;
      return { facts: { kind: "unreadable", code: error.code, message: error.message } };
    }
  }

  /** The staple in place (its first target key), re-verified now (its signature only once per process: the cache). */
  private async stapleInPlace(store: StapleStore, config: StapleConfig, chain: Chain, issuer: FoundIssuer, now: Date): Promise<StapleInPlace | undefined> {
    const stored = store.stored;
    if (stored === undefined) return undefined;
    const data = stored.data[config.target.keys[0] ?? ""];
    const certificateSha256 = stored.certificateSha256 ?? "";
    if (data === undefined) return { certificateSha256, verified: undefined };
    try {
      const der = new Uint8Array(Buffer.from(data, "base64"));
      const cache = this.deps.verificationCache;
      return { certificateSha256, verified: (await verifyStaple(der, { chain, issuer, at: now, ...(cache === undefined ? {} : { cache }) })).response };
    } catch {
      // Expired, or for another certificate: unusable now, so the policy replaces or withdraws it.
      return { certificateSha256, verified: undefined };
    }
  }

  private async execute(action: Action, gathered: Gathered): Promise<void> {
    const { secret, owner } = gathered;
    if (secret === undefined) return;
    if (action.kind === "deleteCompanion") {
      const companion = this.deps.companions.get(`${secret.namespace}/${action.name}`);
      if (companion === undefined) return;
      await this.api(() => deleteCompanion(this.deps.api, companion));
      this.deps.onWrite?.("delete");
      return;
    }
    if (action.kind === "removeInPlaceKeys") {
      if (!(await this.api(() => removeInPlaceStaple(this.deps.api, secret)))) return;
      this.deps.onWrite?.("in-place");
      this.log(gathered, action.log);
      return;
    }
    if (owner === undefined || !(await this.api(() => owner.store.remove()))) return;
    this.deps.onWrite?.(owner.config.target.mode === "InPlace" ? "in-place" : "delete");
    if (action.event !== undefined) this.deps.events.record(eventTargets(secret, owner.config), action.event.type, action.event.reason, action.event.message);
    this.log(gathered, action.log);
  }

  private async fetch(gathered: Gathered): Promise<{ outcome: FetchOutcome; responder: string; message?: string } | { hostFree: Promise<void> } | "stopped"> {
    const { chain, issuer, config } = gathered.owner ?? {};
    if (chain === undefined || issuer === undefined || config === undefined) throw new Error("fetch planned for a Secret without a readable chain");
    const waitOff = this.deps.whileWaiting ?? (<T>(work: Promise<T>) => work);
    try {
      const staple = await waitOff(this.deps.fetcher.fetch({
        chain, issuer,
        ...(config.responder.urlOverride === "" ? {} : { urlOverride: config.responder.urlOverride }),
        method: config.responder.method,
        timeoutMs: config.responder.timeoutMs,
      }, this.deps.clock.now().getTime()));
      return { outcome: { kind: "verified", response: staple }, responder: staple.responder };
    } catch (error) {
      if (error instanceof HostBusy) return { hostFree: error.free };
      // The controller is stopping: nothing to decide or to come back for.
      if (error instanceof FetcherStopped) return "stopped";
      if (!isOcspError(error)) throw error;
      return { outcome: { kind: "failed", code: error.code }, responder: "", message: error.message };
    }
  }

  /** Writes the planned staple; `responder` (the URL that answered) goes into the holder's annotation. */
  private async write(write: WriteStaple, gathered: Gathered, responder: string, chainStaples?: ChainStaples): Promise<WriteResult> {
    const { owner } = gathered;
    const { chain, issuer } = owner ?? {};
    if (owner === undefined || chain === undefined || issuer === undefined) throw new Error("write planned for a Secret without a readable chain");
    // The same CertIDs as the chain keeper's rewrite of this staple (same serial, same issuer), so the two never undo each other.
    const certIds = certIdsFor(write.response.serial, issuer.certificate);
    const outcome = await this.api(() => owner.store.write({ response: write.response, responder, certificateSha256: chain.leaf.sha256, certIds }, chainStaples));
    if (outcome.result === "written") this.deps.onWrite?.(owner.config.target.mode === "InPlace" ? "in-place" : "companion");
    return outcome;
  }

  /** The chain's part of this reconcile, for an owned Secret (chain-keeper.ts). */
  private chainWork(gathered: Gathered): ChainReconcile | undefined {
    const { owner, facts } = gathered;
    if (owner === undefined) return undefined;
    return this.chainKeeper.begin({
      config: owner.config, store: owner.store, chain: owner.chain, issuer: owner.issuer?.certificate, leafInPlace: facts.owner?.stored,
      previous: facts.previous, now: facts.now, random: facts.random, log: (line) => { this.log(gathered, line); },
    });
  }

  /** One API call of the plan, through the controller's writer pool. */
  private api<T>(call: () => Promise<T>): Promise<T> {
    return this.deps.whileWriting === undefined ? call() : this.deps.whileWriting(call);
  }

  /** The plan's end: the status entry, the Events, the log line, and when to come back. */
  private settle(key: string, done: Done, gathered: Gathered): ReconcileOutcome {
    if (done.state === "forget") this.states.delete(key);
    else if (done.state !== "unchanged") this.states.set(key, done.state);
    const { secret, owner } = gathered;
    if (secret !== undefined && owner !== undefined) {
      for (const event of done.events) this.deps.events.record(eventTargets(secret, owner.config), event.type, event.reason, event.message);
    }
    if (done.log !== undefined) this.log(gathered, done.log);
    const now = gathered.facts.now.getTime();
    return { ...(done.recheckAt === undefined ? {} : { requeueAfterMs: Math.max(0, done.recheckAt.getTime() - now) }), touchedConfigs: done.touchedConfigs };
  }

  private log(gathered: Gathered, line: PlannedLog): void {
    const fields = { namespace: gathered.secret?.namespace, name: gathered.secret?.name, config: gathered.owner?.config.name, ...line.fields };
    if (line.level === "info") this.deps.logger.info(fields, line.message);
    else this.deps.logger.warn(fields, line.message);
  }
}

function ownerFacts(config: StapleConfig, store: StapleStore): OwnerFacts {
  return {
    key: configKey(config), uid: config.uid, generation: config.generation, mode: config.target.mode,
    keys: config.target.keys, holder: store.holder, policy: config.policy, chain: config.chain, consumer: config.target.consumer,
  };
}

/** Events go on the StapleConfig (its story) and on the TLS Secret (what `kubectl describe secret` shows). */
function eventTargets(secret: TlsSecret, owner: StapleConfig): EventTarget[] {
  return [
    { apiVersion: "ocsp-stapler.io/v1alpha1", kind: "StapleConfig", namespace: owner.namespace, name: owner.name, uid: owner.uid },
    { apiVersion: "v1", kind: "Secret", namespace: secret.namespace, name: secret.name, uid: secret.uid },
  ];
}
