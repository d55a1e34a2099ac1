import type { Chain } from "../ocsp/chain.ts";
import { certIdsFor } from "../ocsp/cert-id.ts";
import type { Certificate } from "../ocsp/certificate.ts";
import type { ChainStaples } from "../kube/chain-keys.ts";
import type { StapleConfig } from "../kube/staple-config.ts";
import type { Done, PlannedLog, StapleInPlace } from "../staple/plan.ts";
import type { Random } from "../staple/refresh-policy.ts";
import type { SecretState } from "../staple/secret-state.ts";
import { fullChainStep, type FullChainDependencies, type FullChainStep } from "./full-chain.ts";
import { FetcherStopped } from "./host-busy.ts";
import type { StapleStore } from "./staple-store.ts";

export interface ChainKeeperDependencies extends FullChainDependencies {
  /** Runs one API call in the controller's writer pool. */
  readonly api: <T>(call: () => Promise<T>) => Promise<T>;
  readonly onWrite?: (kind: "companion" | "in-place") => void;
}

/** What one reconcile of an owned Secret knows that the chain's keys depend on. */
export interface ChainContext {
  readonly config: StapleConfig;
  readonly store: StapleStore;
  /** The parsed chain; undefined when tls.crt could not be read. */
  readonly chain: Chain | undefined;
  /**
   * The leaf's issuer, found at gathering (maybe from ca.crt or AIA, so not
   * always in `chain`): the rewrite names the staple's CertIDs with it, as
   * the reconciler's write does.
   */
  readonly issuer: Certificate | undefined;
  /** The leaf's staple in place, re-verified at gathering. */
  readonly leafInPlace: StapleInPlace | undefined;
  readonly previous: SecretState | undefined;
  readonly now: Date;
  readonly random: Random;
  readonly log: (line: PlannedLog) => void;
}

/**
 * Keeps the companion's chain keys (`chain: Full`) in step with the leaf's
 * staple, around the leaf's plan, which it never changes: the reconciler
 * asks for the intermediates' staples before writing the leaf's (one apply
 * carries all), and hands it the leaf plan's end to complete (the chain's
 * keys written if the leaf's write did not carry them, the chain's status,
 * Events and earliest schedule merged in). A config back on `chain: Leaf`
 * gets a bundle left in place removed.
 */
export class ChainKeeper {
  private readonly deps: ChainKeeperDependencies;

  constructor(deps: ChainKeeperDependencies) {
    this.deps = deps;
  }

  /** The chain's part of one reconcile; its step runs at most once, when first asked for. */
  begin(context: ChainContext): ChainReconcile {
    let step: Promise<ChainStep> | undefined;
    const full = () => (step ??= this.step(context));
    return {
      staples: async () => { const done = await full(); return done === undefined || "refused" in done ? undefined : done.staples; },
      complete: (done, wrote) => this.complete(context, full, done, wrote),
    };
  }

  private async step(context: ChainContext): Promise<ChainStep> {
    const { chain, config, store } = context;
    if (chain === undefined || config.chain !== "Full") return undefined;
    let step;
    try {
      step = await fullChainStep(this.deps, { chain, config, stored: store.stored?.data, holder: store.holder, previous: context.previous, now: context.now, random: context.random });
    } catch (error) {
      // The controller is stopping: the chain's step is left out, as a leaf's fetch would be.
      if (error instanceof FetcherStopped) return undefined;
      throw error;
    }
    if ("refused" in step) context.log({ level: "warn", message: `chain: Full: the intermediates get no staple: ${step.refused}`, fields: { reason: "BadCertificate" } });
    return step;
  }

  /**
   * With a leaf staple in place after the leaf's plan: its companion gets
   * the intermediates' keys and the bundle as planned (unless this
   * reconcile's write carried them), the entry the chain's list and Events,
   * and the reconcile the earliest schedule of all elements. Without one
   * nothing is written.
   */
  private async complete(context: ChainContext, full: () => Promise<ChainStep>, done: Done, wrote: boolean): Promise<Done> {
    const { state } = done;
    if (typeof state !== "object" || state.staple === undefined) return done;
    if (context.config.chain !== "Full") {
      if (!wrote && holdsChainKeys(context)) await this.rewrite(context, undefined);
      return done;
    }
    const step = await full();
    if (step === undefined) return done;
    if ("refused" in step) {
      // No intermediate is stapled: keys left from an earlier chain go (the apply drops them).
      if (!wrote) await this.rewrite(context, undefined);
      return { ...done, state: { ...leafOnly(state), chainError: { code: "BadCertificate", message: step.refused } } };
    }
    if (!wrote) await this.rewrite(context, step.staples);
    const checks = [done.recheckAt?.getTime(), step.plan.recheckAt?.getTime()].filter((time): time is number => time !== undefined);
    const recheckAt = checks.length === 0 ? undefined : new Date(Math.min(...checks));
    // The leaf's own schedule stays in the entry (the leaf's plan reads it): an intermediate retried
    // every few minutes must not drag the leaf's requests along. The Secret is looked at again at
    // the earliest of all, and each part fetches only when it is due.
    return {
      ...done,
      state: { ...leafOnly(state), chain: step.plan.entries },
      events: [...done.events, ...step.plan.events],
      ...(recheckAt === undefined ? {} : { recheckAt }),
    };
  }

  /**
   * The holder rewritten around the leaf's staple in place (same bytes,
   * same annotations) with these chain keys, or none (the apply drops keys we
   * no longer send). No request when nothing changes (the writer's digest).
   */
  private async rewrite(context: ChainContext, staples: ChainStaples | undefined): Promise<void> {
    const { store, leafInPlace, issuer } = context;
    const stored = store.stored;
    // A staple re-verified at gathering had its issuer: both are there or neither.
    if (leafInPlace?.verified === undefined || stored === undefined || issuer === undefined) return;
    const response = leafInPlace.verified;
    const staple = { response, responder: stored.responder ?? "", certificateSha256: leafInPlace.certificateSha256, certIds: certIdsFor(response.serial, issuer) };
    const outcome = await this.deps.api(() => store.write(staple, staples));
    if (outcome.result === "written") this.deps.onWrite?.(context.config.target.mode === "InPlace" ? "in-place" : "companion");
  }
}

/**
 * The chain's part once computed: the intermediates' plan and keys, a chain
 * refused as a whole (more than 8 certificates, a loop: reported in the
 * status entry's `chainError`, the leaf stapled alone), or nothing to do
 * (not `chain: Full`, tls.crt unreadable, the controller stopping).
 */
type ChainStep = FullChainStep | { readonly refused: string } | undefined;

/** One reconcile's chain work (ChainKeeper.begin). */
export interface ChainReconcile {
  /** The intermediates' keys for the leaf's write; undefined for anything but a `chain: Full` config. */
  staples(): Promise<ChainStaples | undefined>;
  /** The leaf plan's end, completed with the chain; `wrote`: this reconcile wrote the leaf's staple (with `staples()`). */
  complete(done: Done, wrote: boolean): Promise<Done>;
}

/**
 * A holder still holding chain keys after its config went back to `chain:
 * Leaf`: any key besides the target keys (a companion holds nothing else; in
 * InPlace mode these are only the keys the staple-keys annotation lists).
 */
function holdsChainKeys(context: ChainContext): boolean {
  const keys = context.config.target.keys;
  return Object.keys(context.store.stored?.data ?? {}).some((key) => !keys.includes(key));
}

/** A Secret's state without what an earlier reconcile said of its chain (this reconcile says it again). */
function leafOnly(state: SecretState): SecretState {
  const { chain, chainError, ...leaf } = state;
  return leaf;
}
