import { ANNOTATION, FIELD_MANAGER, LABEL } from "./metadata-keys.ts";
import { isStringMap } from "./tls-secret.ts";

/** A companion Secret as the controller caches it: who it belongs to and what it holds. */
export interface CompanionSnapshot {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The TLS Secret it belongs to (label `ocsp-stapler.io/source`). */
  readonly source: string;
  /** The uid its ownerReference names: a TLS Secret deleted and created again under the same name has another. */
  readonly ownerUid: string | undefined;
  readonly certificateSha256: string | undefined;
  /** Base64 DER per data key. */
  readonly data: Readonly<Record<string, string>>;
}

/** namespace/name of the TLS Secret a companion belongs to: the key of that Secret in the TLS Secret cache. */
export function companionSourceKey(companion: CompanionSnapshot): string {
  return `${companion.namespace}/${companion.source}`;
}

/** Only Secrets labelled as ours are cached, so this never sees other Secrets' data. */
export function toCompanionSnapshot(raw: unknown): CompanionSnapshot | undefined {
  const secret = raw as { metadata?: { namespace?: unknown; name?: unknown; uid?: unknown; labels?: unknown; annotations?: unknown; ownerReferences?: unknown }; data?: unknown } | null;
  const { namespace, name, uid, labels, annotations, ownerReferences } = secret?.metadata ?? {};
  if (typeof namespace !== "string" || typeof name !== "string" || typeof uid !== "string" || !isStringMap(labels)) return undefined;
  const source = labels[LABEL.source];
  if (labels[LABEL.managedBy] !== FIELD_MANAGER || source === undefined) return undefined;
  return {
    namespace, name, uid, source, ownerUid: ownerUidOf(ownerReferences),
    certificateSha256: isStringMap(annotations) ? annotations[ANNOTATION.certSha256] : undefined,
    data: isStringMap(secret?.data) ? secret.data : {},
  };
}

function ownerUidOf(references: unknown): string | undefined {
  if (!Array.isArray(references)) return undefined;
  const owner = (references as { kind?: unknown; uid?: unknown }[]).find((reference) => reference.kind === "Secret");
  return typeof owner?.uid === "string" ? owner.uid : undefined;
}
