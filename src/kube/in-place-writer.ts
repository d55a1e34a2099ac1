import { ApiException, PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import type { StapleToWrite } from "./companion-secret.ts";
import { holdsInPlace, inPlaceApplyBody, inPlaceKeysRemovalPatch, inPlaceRemovalPatch, type InPlaceSecret } from "./in-place-staple.ts";
import { FIELD_MANAGER } from "./metadata-keys.ts";
import { writeRefusal } from "./write-refusal.ts";
import type { InPlaceStaple } from "./tls-secret.ts";

/**
 * `stale`: the Secret changed (or went) since it was read, so nothing was
 * written; the change brings the Secret back to the queue with fresh data.
 */
export type InPlaceWriteOutcome = { readonly result: "written" | "unchanged" | "stale" } | { readonly result: "refused"; readonly message: string };
export type InPlaceRemoveOutcome = { readonly result: "stale" } | { readonly result: "removed"; readonly resourceVersion: string };

/**
 * Writes our keys (`data`: inPlaceData) and annotations into the TLS Secret
 * by a guarded server-side apply. Our keys that `data` no longer has (an
 * intermediate withdrawn, back to `chain: Leaf`) go first, by a guarded JSON
 * patch: an apply that stops sending a key would leave it to any client that
 * co-owns it after a plain update (inPlaceRemovalPatch).
 */
export async function writeInPlace(api: CoreV1Api, secret: InPlaceSecret, stored: InPlaceStaple | undefined, data: Readonly<Record<string, string>>, staple: StapleToWrite): Promise<InPlaceWriteOutcome> {
  if (holdsInPlace(stored, data, staple)) return { result: "unchanged" };
  let resourceVersion = secret.resourceVersion;
  const dropped = Object.keys(stored?.data ?? {}).filter((key) => !(key in data));
  if (dropped.length > 0) {
    try {
      const updated = await api.patchNamespacedSecret({ name: secret.name, namespace: secret.namespace, body: inPlaceKeysRemovalPatch(resourceVersion, dropped), fieldManager: FIELD_MANAGER }, setHeaderOptions("Content-Type", PatchStrategy.JsonPatch));
      resourceVersion = updated.metadata?.resourceVersion ?? "";
    } catch (error) {
      if (isStale(error)) return { result: "stale" };
      return refused(secret, error);
    }
  }
  try {
    await api.patchNamespacedSecret({ name: secret.name, namespace: secret.namespace, body: inPlaceApplyBody({ ...secret, resourceVersion }, data, staple), fieldManager: FIELD_MANAGER, force: true }, setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply));
    return { result: "written" };
  } catch (error) {
    // Only a failed precondition means "changed meanwhile"; anything else (422: invalid) is an error, not a reason to retry at once.
    if (error instanceof ApiException && (error.code === 404 || error.code === 409)) return { result: "stale" };
    return refused(secret, error);
  }
}

/** The API server's refusal for good (writeRefusal); anything else is thrown. */
function refused(secret: InPlaceSecret, error: unknown): InPlaceWriteOutcome {
  const refusal = writeRefusal(error);
  if (refusal !== undefined) return { result: "refused", message: `Secret ${secret.namespace}/${secret.name}: ${refusal}` };
  throw error;
}

/** Takes our keys and annotations out of the TLS Secret, and checks they are gone. */
export async function removeInPlace(api: CoreV1Api, secret: InPlaceSecret, stored: InPlaceStaple): Promise<InPlaceRemoveOutcome> {
  let updated: V1Secret;
  try {
    updated = await api.patchNamespacedSecret({ name: secret.name, namespace: secret.namespace, body: inPlaceRemovalPatch(secret.resourceVersion, stored), fieldManager: FIELD_MANAGER }, setHeaderOptions("Content-Type", PatchStrategy.JsonPatch));
  } catch (error) {
    if (isStale(error)) return { result: "stale" };
    throw error;
  }
  const left = Object.keys(stored.data).filter((key) => updated.data?.[key] !== undefined);
  if (left.length > 0) throw new Error(`keys ${left.join(", ")} are still in Secret ${secret.namespace}/${secret.name} after their removal`);
  return { result: "removed", resourceVersion: updated.metadata?.resourceVersion ?? "" };
}

/** For the guarded removal: 409 resourceVersion conflict, 422 the patch's `test` failed, 404 the Secret is gone. */
function isStale(error: unknown): boolean {
  return error instanceof ApiException && [404, 409, 422].includes(error.code);
}
