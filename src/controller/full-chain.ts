import type { Chain } from "../ocsp/chain.ts";
import { isOcspError } from "../ocsp/errors.ts";
import type { VerificationCache } from "../ocsp/verification-cache.ts";
import type { ChainStaples } from "../kube/chain-keys.ts";
import type { StapleConfig } from "../kube/staple-config.ts";
import { chainDue, planChain, type ChainPlan, type ElementFacts } from "../staple/chain-plan.ts";
import { profilesFor } from "../staple/consumer-profile.ts";
import type { Random } from "../staple/refresh-policy.ts";
import type { SecretState } from "../staple/secret-state.ts";
import { fetchIntermediates, storedIntermediates, type Intermediates } from "./intermediates.ts";
import type { StapleFetcher } from "./staple-fetcher.ts";

export interface FullChainDependencies {
  readonly intermediates: Intermediates;
  readonly fetcher: StapleFetcher;
  readonly verificationCache?: VerificationCache;
  /** Frees the reconcile's worker slot while it waits on responders. */
  readonly whileWaiting: <T>(work: Promise<T>) => Promise<T>;
}

export interface FullChainInput {
  readonly chain: Chain;
  readonly config: StapleConfig;
  /** The holder's data now (base64 per key). */
  readonly stored: Readonly<Record<string, string>> | undefined;
  readonly holder: string;
  readonly previous: SecretState | undefined;
  readonly now: Date;
  readonly random: Random;
}

/** The intermediates' plan, and what the companion's chain keys should hold. */
export interface FullChainStep {
  readonly plan: ChainPlan;
  readonly staples: ChainStaples;
}

/**
 * The intermediates' part of a `chain: Full` reconcile: gathers their facts
 * (staples in place re-verified, a fetch when the chain is due), asks the
 * pure planChain, and returns its plan with the DER each key should hold.
 * `refused` for a chain refused as a whole (too long, a loop): the leaf's
 * staple goes on alone, and the reason is logged.
 */
export async function fullChainStep(deps: FullChainDependencies, input: FullChainInput): Promise<FullChainStep | { readonly refused: string }> {
  let intermediates;
  try {
    intermediates = await deps.intermediates.of(input.chain);
  } catch (error) {
    if (!isOcspError(error)) throw error;
    return { refused: error.message };
  }
  const firstKey = input.config.target.keys[0] ?? "";
  const stored = storedIntermediates(intermediates, input.stored, firstKey, input.now, deps.verificationCache);
  const described = intermediates.map((element, position) => ({ subject: element.certificate.subject, serial: element.certificate.serial, stored: stored[position] }));
  const previous = input.previous?.chain;
  const fetched = chainDue(described, previous, input.now)
    ? await deps.whileWaiting(fetchIntermediates(deps.fetcher, intermediates, input.config, input.now.getTime()))
    : undefined;
  const elements: ElementFacts[] = intermediates.map((element, position) => ({
    index: element.index,
    subject: element.certificate.subject,
    serial: element.certificate.serial,
    certificateSha256: element.certificate.sha256,
    notAfter: element.certificate.notAfter,
    stored: stored[position],
    fetched: fetched?.[position],
  }));
  const profiles = profilesFor(input.config.target.consumer, input.config.target.keys, "Full");
  const plan = planChain({ elements, previous, now: input.now, policy: input.config.policy, random: input.random, holder: input.holder, profiles });
  return { plan, staples: { intermediates: plan.staples.map((staple) => staple?.der), bundled: plan.bundled } };
}
