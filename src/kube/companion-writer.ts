import { ApiException, PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import type { CompanionSecretBody } from "./companion-secret.ts";
import { companionDigest, type CompanionSnapshot } from "./companion-snapshot.ts";
import { alreadyExists, createOnly } from "./create-only.ts";
import { FIELD_MANAGER, LABEL } from "./metadata-keys.ts";
import { writeRefusal } from "./write-refusal.ts";
import type { WriteRefusalReason } from "../staple/reasons.ts";

/** What the controller's cache knows of a companion about to be written (all optional: a bare call creates it first). */
export interface CompanionCacheView {
  /** The companion as cached, if it is. */
  readonly cached?: CompanionSnapshot | undefined;
  /** The digest of our last apply whose watch event has not come back yet. */
  readonly pending?: string | undefined;
  readonly beforeApply?: (contentSha256: string) => void;
}

export type WriteOutcome = { readonly result: "written" | "unchanged" } | { readonly result: "conflict"; readonly reason: WriteRefusalReason; readonly message: string };

/**
 * Writes a companion Secret by server-side apply (field manager
 * `ocsp-stapler`), the only code here that talks to the API server.
 * - A Secret of that name that the operator does not manage is never
 *   overwritten: `TargetConflict` (DESIGN.md, "Rules that hold for every write").
 * - When the stored Secret already holds exactly what we would apply, no
 *   request is sent: restarts and resyncs cause no writes.
 * - `cache` is what the controller's cache knows of the companion. The cache
 *   holds only Secrets labelled as ours, so a cached companion is ours and
 *   its digest says whether the write would change anything: no GET.
 * - A companion neither cached nor just written by us is most likely new (a
 *   cold start writes thousands): it is created first, by one request that
 *   cannot touch an existing Secret (create-only.ts). Only when a Secret of
 *   that name exists is it read, since it may be someone else's, immutable,
 *   or ours not brought by the watch yet; so is a cached one of another
 *   source, and one we applied with this very content whose echo has not
 *   come back (the cache is behind our own write: the apply would change nothing).
 * - `cache.beforeApply` is told the digest of what is about to be applied
 *   (the controller's cache then knows the watch event that follows for an echo).
 */
export async function writeCompanion(api: CoreV1Api, body: CompanionSecretBody, cache: CompanionCacheView = {}): Promise<WriteOutcome> {
  const digest = digestOf(body);
  const { cached } = cache;
  if (cached === undefined && cache.pending === undefined) {
    const created = await createFirst(api, body, digest, cache);
    if (created !== undefined) return created;
  }
  const fromCache = cached !== undefined && cached.source === body.metadata.labels[LABEL.source] && cache.pending !== digest;
  const settled = fromCache ? (cached.contentSha256 === digest ? UNCHANGED : undefined) : await storedVerdict(api, body);
  if (settled !== undefined) return settled;
  cache.beforeApply?.(digest);
  return apply(api, body);
}

const UNCHANGED: WriteOutcome = { result: "unchanged" };

/**
 * Creates the companion if no Secret has its name; undefined when one has
 * (nothing was written): then it is decided like any other. The digest
 * announced for the create stays announced after a 409: the companion
 * exists, so its next write skips the create, and should its watch event
 * carry exactly this content, it is rightly taken for an echo (a write of
 * it would change nothing).
 */
async function createFirst(api: CoreV1Api, body: CompanionSecretBody, digest: string, cache: CompanionCacheView): Promise<WriteOutcome | undefined> {
  cache.beforeApply?.(digest);
  try {
    return await apply(api, createOnly(body));
  } catch (error) {
    if (alreadyExists(error)) return undefined;
    throw error;
  }
}

/** Read from the API server: a Secret of that name that is not ours for this source (TargetConflict), or ours already holding it all; undefined: apply. */
async function storedVerdict(api: CoreV1Api, body: CompanionSecretBody): Promise<WriteOutcome | undefined> {
  const { name, namespace } = body.metadata;
  const existing = await readSecret(api, name, namespace);
  if (existing === undefined) return undefined;
  const labels = existing.metadata?.labels ?? {};
  if (labels[LABEL.managedBy] !== FIELD_MANAGER || labels[LABEL.source] !== body.metadata.labels[LABEL.source]) {
    return { result: "conflict", reason: "TargetConflict", message: `Secret ${namespace}/${name} exists and is not managed by ocsp-stapler for this source; it is left untouched` };
  }
  return holdsAll(existing, body) ? UNCHANGED : undefined;
}

async function apply(api: CoreV1Api, body: CompanionSecretBody): Promise<WriteOutcome> {
  const { name, namespace } = body.metadata;
  try {
    await api.patchNamespacedSecret({ name, namespace, body, fieldManager: FIELD_MANAGER, force: true }, setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply));
  } catch (error) {
    const refusal = writeRefusal(error);
    if (refusal === undefined) throw error;
    return { result: "conflict", reason: "WriteRefused", message: `Secret ${namespace}/${name}: ${refusal}` };
  }
  return { result: "written" };
}

function digestOf(body: CompanionSecretBody): string {
  return companionDigest({ labels: body.metadata.labels, annotations: body.metadata.annotations, data: body.data, ownerUids: body.metadata.ownerReferences.map((owner) => owner.uid) });
}

async function readSecret(api: CoreV1Api, name: string, namespace: string): Promise<V1Secret | undefined> {
  try {
    return await api.readNamespacedSecret({ name, namespace });
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return undefined;
    throw error;
  }
}

/** Whether every label, annotation, data key and owner we apply is already stored with the same value. */
function holdsAll(existing: V1Secret, body: CompanionSecretBody): boolean {
  const same = (stored: Record<string, string> | undefined, wanted: Readonly<Record<string, string>>) =>
    Object.entries(wanted).every(([key, value]) => stored?.[key] === value);
  const storedOwners = (existing.metadata?.ownerReferences ?? []).map((owner) => owner.uid).join(",");
  return (
    same(existing.metadata?.labels, body.metadata.labels) &&
    same(existing.metadata?.annotations, body.metadata.annotations) &&
    same(existing.data, body.data) &&
    storedOwners === body.metadata.ownerReferences.map((owner) => owner.uid).join(",")
  );
}
