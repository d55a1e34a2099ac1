import { ApiException, PatchStrategy, setHeaderOptions, type CoreV1Api, type V1Secret } from "@kubernetes/client-node";
import type { CompanionSecretBody } from "./companion-secret.ts";
import { FIELD_MANAGER, LABEL } from "./metadata-keys.ts";
import { writeRefusal } from "./write-refusal.ts";
import type { WriteRefusalReason } from "../staple/reasons.ts";

export type WriteOutcome = { readonly result: "written" | "unchanged" } | { readonly result: "conflict"; readonly reason: WriteRefusalReason; readonly message: string };

/**
 * Writes a companion Secret by server-side apply (field manager
 * `ocsp-stapler`), the only code here that talks to the API server.
 * - A Secret of that name that the operator does not manage is never
 *   overwritten: `TargetConflict` (DESIGN.md, "Rules that hold for every write").
 * - When the stored Secret already holds exactly what we would apply, no
 *   request is sent: restarts and resyncs cause no writes.
 */
export async function writeCompanion(api: CoreV1Api, body: CompanionSecretBody): Promise<WriteOutcome> {
  const { name, namespace } = body.metadata;
  const existing = await readSecret(api, name, namespace);
  if (existing !== undefined) {
    const labels = existing.metadata?.labels ?? {};
    if (labels[LABEL.managedBy] !== FIELD_MANAGER || labels[LABEL.source] !== body.metadata.labels[LABEL.source]) {
      return { result: "conflict", reason: "TargetConflict", message: `Secret ${namespace}/${name} exists and is not managed by ocsp-stapler for this source; it is left untouched` };
    }
    if (holdsAll(existing, body)) return { result: "unchanged" };
  }
  try {
    await api.patchNamespacedSecret({ name, namespace, body, fieldManager: FIELD_MANAGER, force: true }, setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply));
  } catch (error) {
    const refusal = writeRefusal(error);
    if (refusal === undefined) throw error;
    return { result: "conflict", reason: "WriteRefused", message: `Secret ${namespace}/${name}: ${refusal}` };
  }
  return { result: "written" };
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
