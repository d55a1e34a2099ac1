import { ApiException, type CoreV1Api } from "@kubernetes/client-node";
import type { ChainStaples } from "../kube/chain-keys.ts";
import type { StapleToWrite } from "../kube/companion-secret.ts";
import { companionName, companionSecret } from "../kube/companion-secret.ts";
import type { CompanionLookup } from "../kube/companion-cache.ts";
import type { CompanionSnapshot } from "../kube/companion-snapshot.ts";
import { writeCompanion } from "../kube/companion-writer.ts";
import { inPlaceData } from "../kube/in-place-staple.ts";
import { ANNOTATION } from "../kube/metadata-keys.ts";
import { removeInPlace, writeInPlace } from "../kube/in-place-writer.ts";
import type { StapleConfig } from "../kube/staple-config.ts";
import type { WriteRefusalReason } from "../staple/reasons.ts";
import type { InPlaceStaple, TlsSecret } from "../kube/tls-secret.ts";

/** What a store holds now: the DER per key and the certificate it was written for. */
export interface StoredStaple {
  readonly certificateSha256: string | undefined;
  /** The responder that answered for the leaf (annotation), when the holder says. */
  readonly responder?: string | undefined;
  readonly data: Readonly<Record<string, string>>;
}

export type StoreWriteOutcome =
  | { readonly result: "written" | "unchanged" }
  | { readonly result: "stale" }
  | { readonly result: "conflict"; readonly reason: WriteRefusalReason; readonly message: string };

/**
 * Where one TLS Secret's staple lives, by `target.mode`: a companion Secret of
 * its own, or keys in the TLS Secret itself (InPlace). The reconciler decides
 * what to do; a store knows how.
 */
export interface StapleStore {
  /** The Secret that holds the staple (status `staple`). */
  readonly holder: string;
  readonly stored: StoredStaple | undefined;
  /** `chain`: the intermediates' staples and bundle of `chain: Full`; without it, a holder's chain keys go. */
  write(staple: StapleToWrite, chain?: ChainStaples): Promise<StoreWriteOutcome>;
  /** Takes the staple out; true when something was removed. */
  remove(): Promise<boolean>;
}

export function stapleStore(api: CoreV1Api, secret: TlsSecret, owner: StapleConfig, companions: CompanionLookup): StapleStore {
  return owner.target.mode === "InPlace" ? new InPlaceStore(api, secret, owner.target.keys) : new CompanionStore(api, secret, owner, companions);
}

class CompanionStore implements StapleStore {
  readonly holder: string;
  readonly stored: CompanionSnapshot | undefined;
  private readonly api: CoreV1Api;
  private readonly secret: TlsSecret;
  private readonly owner: StapleConfig;
  /** The cached companion of that name, whoever it was written for: a write compares with it instead of reading it back. */
  private readonly cached: CompanionSnapshot | undefined;
  private readonly companions: CompanionLookup;

  constructor(api: CoreV1Api, secret: TlsSecret, owner: StapleConfig, companions: CompanionLookup) {
    this.companions = companions;
    this.api = api;
    this.secret = secret;
    this.owner = owner;
    this.holder = companionName(secret, owner.target);
    const found = companions.get(`${secret.namespace}/${this.holder}`);
    this.cached = found;
    // A companion still owned by a deleted Secret of the same name is not this Secret's staple: the
    // garbage collector will delete it, so it is written again now, owned by the Secret that lives.
    this.stored = found?.ownerUid === undefined || found.ownerUid === secret.uid ? found : undefined;
  }

  write(staple: StapleToWrite, chain?: ChainStaples): Promise<StoreWriteOutcome> {
    const key = `${this.secret.namespace}/${this.holder}`;
    return writeCompanion(this.api, companionSecret(this.secret, this.owner.target, staple, chain), {
      cached: this.cached, pending: this.companions.pendingEcho?.(key), beforeApply: (digest) => { this.companions.expectEcho?.(key, digest); },
    });
  }

  async remove(): Promise<boolean> {
    if (this.stored === undefined) return false;
    await deleteCompanion(this.api, this.stored);
    return true;
  }
}

/**
 * InPlace: our keys in the TLS Secret. Every write is guarded by the
 * resourceVersion last seen, which a removal moves on, so a removal and the
 * write of a fresh staple can follow each other in one reconcile.
 */
class InPlaceStore implements StapleStore {
  readonly holder: string;
  private current: InPlaceStaple | undefined;
  private resourceVersion: string;
  private readonly api: CoreV1Api;
  private readonly secret: TlsSecret;
  private readonly keys: readonly string[];

  constructor(api: CoreV1Api, secret: TlsSecret, keys: readonly string[]) {
    this.api = api;
    this.secret = secret;
    this.keys = keys;
    this.holder = secret.name;
    this.current = secret.inPlace;
    this.resourceVersion = secret.resourceVersion;
  }

  get stored(): StoredStaple | undefined {
    if (this.current === undefined || Object.keys(this.current.data).length === 0) return undefined;
    // The leaf's responder, for a `chain: Full` rewrite of the intermediates that keeps the leaf's annotations.
    return { ...this.current, responder: this.current.annotations[ANNOTATION.responder] };
  }

  async write(staple: StapleToWrite, chain?: ChainStaples): Promise<StoreWriteOutcome> {
    const data = inPlaceData(this.keys, staple, chain);
    // Ours are the keys the Secret listed as ours when it was read: a removal in this reconcile does not make them foreign.
    const foreign = Object.keys(data).filter((key) => this.secret.dataKeys.includes(key) && this.secret.inPlace?.keys.includes(key) !== true);
    if (foreign.length > 0) {
      return { result: "conflict", reason: "TargetConflict", message: `Secret ${this.secret.namespace}/${this.secret.name} already holds ${foreign.join(", ")}, not written by ocsp-stapler; it is left untouched` };
    }
    if (this.secret.immutable) {
      return { result: "conflict", reason: "TargetConflict", message: `Secret ${this.secret.namespace}/${this.secret.name} is immutable: InPlace mode cannot add a staple to it; use Companion mode` };
    }
    const outcome = await writeInPlace(this.api, { ...this.secret, resourceVersion: this.resourceVersion }, this.current, data, staple);
    return outcome.result === "refused" ? { result: "conflict", reason: "WriteRefused", message: outcome.message } : outcome;
  }

  async remove(): Promise<boolean> {
    if (this.current === undefined || this.secret.immutable) return false;
    const outcome = await removeInPlace(this.api, { ...this.secret, resourceVersion: this.resourceVersion }, this.current);
    if (outcome.result !== "removed") return false;
    this.current = undefined;
    this.resourceVersion = outcome.resourceVersion;
    return true;
  }
}

/** Removes an InPlace staple a config no longer asks for; false if the Secret changed meanwhile (it comes back to the queue). */
export async function removeInPlaceStaple(api: CoreV1Api, secret: TlsSecret): Promise<boolean> {
  if (secret.inPlace === undefined || secret.immutable) return false;
  return (await removeInPlace(api, secret, secret.inPlace)).result === "removed";
}

export async function deleteCompanion(api: CoreV1Api, companion: CompanionSnapshot): Promise<void> {
  try {
    // The uid precondition: never delete a Secret someone re-created under that name meanwhile.
    await api.deleteNamespacedSecret({ name: companion.name, namespace: companion.namespace, body: { preconditions: { uid: companion.uid } } });
  } catch (error) {
    if (!(error instanceof ApiException && (error.code === 404 || error.code === 409))) throw error;
  }
}
