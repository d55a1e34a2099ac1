import { createHash } from "node:crypto";
import { ANNOTATION, FIELD_MANAGER, LABEL } from "./metadata-keys.ts";
import { isStringMap } from "./tls-secret.ts";

/**
 * A companion Secret as the controller caches it: who it belongs to, what it
 * holds, and a digest of everything a write would set. Not the whole object
 * (managedFields, other annotations): the digest is enough to tell that a
 * write would change nothing, without asking the API server.
 */
export interface CompanionSnapshot {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  /** The TLS Secret it belongs to (label `ocsp-stapler.io/source`). */
  readonly source: string;
  /** The uid its ownerReference names: a TLS Secret deleted and created again under the same name has another. */
  readonly ownerUid: string | undefined;
  readonly certificateSha256: string | undefined;
  /** The responder that answered for the leaf (annotation): a `chain: Full` rewrite of the intermediates keeps it. */
  readonly responder?: string | undefined;
  /** Base64 DER per data key (keys holding the same staple share one string). */
  readonly data: Readonly<Record<string, string>>;
  /** `companionDigest` of the stored labels, annotations, data and owners. */
  readonly contentSha256: string;
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
  const storedAnnotations = isStringMap(annotations) ? annotations : {};
  const data = isStringMap(secret?.data) ? sharedValues(secret.data) : {};
  return {
    namespace, name, uid, source, ownerUid: ownerUidOf(ownerReferences),
    certificateSha256: storedAnnotations[ANNOTATION.certSha256],
    responder: storedAnnotations[ANNOTATION.responder],
    data,
    contentSha256: companionDigest({ labels, annotations: storedAnnotations, data, ownerUids: ownerUidsOf(ownerReferences) }),
  };
}

/** A listed companion without its managedFields (listPages): all `toCompanionSnapshot` and its digest read is the rest. */
export function trimCompanion(raw: unknown): unknown {
  const secret = raw as { metadata?: Record<string, unknown> } | null;
  if (secret?.metadata === undefined) return raw;
  const { managedFields, ...metadata } = secret.metadata;
  return { ...secret, metadata };
}

/**
 * One digest of what a companion carries: equal for a stored Secret and an
 * apply body exactly when the apply would change nothing. Extra labels or
 * annotations someone else added make it differ: then the write is sent, and
 * the server finds nothing of ours to change (no new resourceVersion).
 */
export function companionDigest(content: { labels: Readonly<Record<string, string>>; annotations: Readonly<Record<string, string>>; data: Readonly<Record<string, string>>; ownerUids: readonly string[] }): string {
  const sorted = (map: Readonly<Record<string, string>>) => Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return createHash("sha256").update(JSON.stringify([sorted(content.labels), sorted(content.annotations), sorted(content.data), content.ownerUids])).digest("base64");
}

/** Several target keys hold the same staple: one string for all of them. */
function sharedValues(data: Record<string, string>): Record<string, string> {
  const seen = new Map<string, string>();
  return Object.fromEntries(Object.entries(data).map(([key, value]) => {
    const shared = seen.get(value) ?? value;
    seen.set(value, shared);
    return [key, shared];
  }));
}

function ownerUidOf(references: unknown): string | undefined {
  if (!Array.isArray(references)) return undefined;
  const owner = (references as { kind?: unknown; uid?: unknown }[]).find((reference) => reference.kind === "Secret");
  return typeof owner?.uid === "string" ? owner.uid : undefined;
}

function ownerUidsOf(references: unknown): string[] {
  if (!Array.isArray(references)) return [];
  return (references as { uid?: unknown }[]).map((reference) => (typeof reference.uid === "string" ? reference.uid : ""));
}
