import { ANNOTATION, FIELD_MANAGER, LABEL, PROTECTED_KEYS } from "../kube/metadata-keys.ts";
import { parseCertIds } from "../ocsp/cert-id-text.ts";
import { isStringMap, TLS_SECRET_TYPE } from "../kube/tls-secret.ts";
import { servableStaple, type ServableStaple, type StapleHints } from "./servable-staple.ts";

/**
 * The staples one Secret holds, as the responder caches it: nothing else of
 * the Secret (no certificate, no key, no foreign data). An entry with no
 * staples is kept too, so that a Secret losing its staple removes it.
 */
export interface SecretStaples {
  readonly namespace: string;
  readonly name: string;
  readonly staples: readonly ServableStaple[];
}

interface RawSecret {
  readonly type?: unknown;
  readonly metadata?: { readonly namespace?: unknown; readonly name?: unknown; readonly labels?: unknown; readonly annotations?: unknown; readonly resourceVersion?: unknown };
  readonly data?: unknown;
}

/** A companion Secret (labelled as the operator's): every data value that is an OCSP response (the leaf's under each target key, intermediates' under `<key>.<n>`). */
export function companionStaples(raw: unknown): SecretStaples | undefined {
  const secret = raw as RawSecret | null;
  const labels = secret?.metadata?.labels;
  const identity = identityOf(secret);
  if (identity === undefined || !isStringMap(labels) || labels[LABEL.managedBy] !== FIELD_MANAGER) return undefined;
  const data = isStringMap(secret?.data) ? secret.data : {};
  // The chain: Full bundle (`<key>.pem`) is PEM text of responses already held under the DER keys.
  return { ...identity, staples: staplesOf(Object.entries(data).filter(([key]) => !key.endsWith(".pem")).map(([, value]) => value), hintsOf(secret)) };
}

/**
 * A kubernetes.io/tls Secret: the InPlace keys its `ocsp-stapler.io/staple-keys`
 * annotation lists, never `tls.crt`, `tls.key` or `ca.crt` whatever it lists.
 */
export function inPlaceStaples(raw: unknown): SecretStaples | undefined {
  const secret = raw as RawSecret | null;
  const identity = identityOf(secret);
  if (identity === undefined || secret?.type !== TLS_SECRET_TYPE) return undefined;
  const data = isStringMap(secret.data) ? secret.data : {};
  return { ...identity, staples: staplesOf(inPlaceKeys(secret).flatMap((key) => data[key] ?? []), hintsOf(secret)) };
}

/**
 * A listed Secret cut down to what the two readers above use, as soon as its
 * LIST page is parsed: `tls.key`, certificates, foreign annotations and
 * managedFields never reach the cache (nor stay in memory for the whole LIST).
 */
export function trimToStaples(raw: unknown): unknown {
  const secret = raw as RawSecret | null;
  const metadata = secret?.metadata;
  const annotations = isStringMap(metadata?.annotations) ? metadata.annotations : {};
  const data = isStringMap(secret?.data) ? secret.data : {};
  const keep = secret?.type === TLS_SECRET_TYPE ? new Set(inPlaceKeys(secret)) : undefined;
  return {
    type: secret?.type,
    metadata: {
      namespace: metadata?.namespace, name: metadata?.name, labels: metadata?.labels, resourceVersion: metadata?.resourceVersion,
      annotations: Object.fromEntries(Object.entries(annotations).filter(([key]) => key.startsWith("ocsp-stapler.io/"))),
    },
    data: Object.fromEntries(Object.entries(data).filter(([key]) => keep === undefined || keep.has(key))),
  };
}

function inPlaceKeys(secret: RawSecret): string[] {
  const annotations = isStringMap(secret.metadata?.annotations) ? secret.metadata.annotations : {};
  return (annotations[ANNOTATION.stapleKeys] ?? "").split(",").map((key) => key.trim())
    .filter((key) => key !== "" && !PROTECTED_KEYS.includes(key) && !key.endsWith(".pem"));
}

function identityOf(secret: RawSecret | null): { namespace: string; name: string } | undefined {
  const { namespace, name } = secret?.metadata ?? {};
  return typeof namespace === "string" && typeof name === "string" ? { namespace, name } : undefined;
}

function hintsOf(secret: RawSecret | null): StapleHints {
  const annotations = isStringMap(secret?.metadata?.annotations) ? secret.metadata.annotations : {};
  return { usableUntil: annotations[ANNOTATION.usableUntil], certIds: parseCertIds(annotations[ANNOTATION.certIds] ?? "") };
}

/** The distinct values (keys holding the same staple share it) that are OCSP responses. */
function staplesOf(base64Values: readonly string[], hints: StapleHints): ServableStaple[] {
  return [...new Set(base64Values)].flatMap((value) => servableStaple(Buffer.from(value, "base64"), hints) ?? []);
}
