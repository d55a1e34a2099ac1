import { isOcspError } from "../ocsp/errors.ts";
import { isOcspResponse } from "../ocsp/is-ocsp-response.ts";
import { readResponseBundle } from "../ocsp/response-bundle.ts";
import { CertificateBundle, DerPool } from "./certificate-bundle.ts";
import { ANNOTATION, PROTECTED_KEYS } from "./metadata-keys.ts";

/**
 * A kubernetes.io/tls Secret as the operator caches it: what the reconciler
 * decides on, and nothing else. Not `tls.key`: the transform runs on every
 * object before any cache stores it, so private keys never stay in the
 * operator's memory longer than one decode (DESIGN.md: never logged, never
 * cached, never written). Not the PEM text, annotations or managedFields
 * either: the certificates are kept as DER, the CA's shared between Secrets
 * (CertificateBundle), which is most of what a Secret costs in memory.
 */
export interface TlsSecret {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly creationTimestamp: string;
  /** tls.crt: the DER of each certificate, leaf first, and their SHA-256 (to key anything derived from them). */
  readonly chain: CertificateBundle;
  /** ca.crt, when the Secret has one. */
  readonly caBundle: CertificateBundle | undefined;
  /** Names of the data keys present (no values): InPlace mode never takes over a key someone else wrote. */
  readonly dataKeys: readonly string[];
  /** An immutable Secret cannot take (or lose) an InPlace staple. */
  readonly immutable: boolean;
  /** For guarded writes in InPlace mode: a write based on an older version is refused. */
  readonly resourceVersion: string;
  /** A staple written into this Secret in InPlace mode, if any. */
  readonly inPlace?: InPlaceStaple;
}

/** Our part of a TLS Secret in InPlace mode: the keys listed in ocsp-stapler.io/staple-keys and our annotations. */
export interface InPlaceStaple {
  /** The data keys we wrote (never tls.crt, tls.key or ca.crt), present or not. */
  readonly keys: readonly string[];
  /** Base64 DER of those keys that are present. */
  readonly data: Readonly<Record<string, string>>;
  readonly certificateSha256: string | undefined;
  /** Our annotations on the Secret, by name (removed with the keys). */
  readonly annotations: Readonly<Record<string, string>>;
}

export const TLS_SECRET_TYPE = "kubernetes.io/tls";

interface RawSecret {
  type?: unknown;
  metadata?: { namespace?: unknown; name?: unknown; uid?: unknown; labels?: unknown; annotations?: unknown; creationTimestamp?: unknown; resourceVersion?: unknown };
  data?: Record<string, unknown>;
  immutable?: unknown;
}

/**
 * The CA certificates of every cached Secret, one copy each: a pool for the
 * whole process, since sharing across caches and relists is the point.
 */
const SHARED_CERTIFICATES = new DerPool();

export function toTlsSecret(raw: unknown, pool: DerPool = SHARED_CERTIFICATES): TlsSecret | undefined {
  const secret = raw as RawSecret | null;
  if (secret?.type !== TLS_SECRET_TYPE) return undefined;
  const { namespace, name, uid, labels, annotations, creationTimestamp, resourceVersion } = secret.metadata ?? {};
  if (typeof namespace !== "string" || typeof name !== "string" || typeof uid !== "string") return undefined;
  const crt = secret.data?.["tls.crt"];
  const ca = secret.data?.["ca.crt"];
  return {
    namespace,
    name,
    uid,
    labels: isStringMap(labels) ? labels : {},
    creationTimestamp: timestamp(creationTimestamp),
    chain: CertificateBundle.fromBase64(typeof crt === "string" ? crt : "", pool),
    caBundle: typeof ca === "string" ? CertificateBundle.fromBase64(ca, pool) : undefined,
    dataKeys: Object.keys(secret.data ?? {}),
    immutable: secret.immutable === true,
    resourceVersion: typeof resourceVersion === "string" ? resourceVersion : "",
    ...inPlaceStaple(isStringMap(annotations) ? annotations : {}, secret.data ?? {}),
  };
}

/**
 * What `toTlsSecret` reads of a listed Secret, and nothing more: the rest
 * (managedFields, foreign annotations, tls.key and other values) is dropped
 * as soon as a LIST page is parsed, so a LIST of thousands of Secrets never
 * holds them all at once (listPages). Data keys stay, with empty values.
 */
export function trimTlsSecret(raw: unknown): unknown {
  const secret = raw as RawSecret | null;
  if (secret?.type !== TLS_SECRET_TYPE) return undefined;
  const annotations = isStringMap(secret.metadata?.annotations) ? secret.metadata.annotations : {};
  const listed = (annotations[ANNOTATION.stapleKeys] ?? "").split(",").map((key) => key.trim());
  const keep = new Set(["tls.crt", "ca.crt", ...listed.filter((key) => !PROTECTED_KEYS.includes(key))]);
  const { namespace, name, uid, labels, creationTimestamp, resourceVersion } = secret.metadata ?? {};
  return {
    type: secret.type, immutable: secret.immutable,
    metadata: { namespace, name, uid, labels, creationTimestamp, resourceVersion, annotations: Object.fromEntries(Object.entries(annotations).filter(([key]) => key.startsWith("ocsp-stapler.io/"))) },
    data: Object.fromEntries(Object.entries(secret.data ?? {}).map(([key, value]) => [key, keep.has(key) ? value : ""])),
  };
}

/**
 * Only what the staple-keys annotation names is kept, and of that only what is
 * an OCSP response: the annotation is just text on the Secret (copied with
 * it, or edited), and other data (tls.key, key.der, keystores) must never
 * reach the cache nor be taken for ours.
 */
function inPlaceStaple(annotations: Record<string, string>, data: Record<string, unknown>): { inPlace?: InPlaceStaple } {
  const listed = annotations[ANNOTATION.stapleKeys];
  if (listed === undefined) return {};
  const keys = listed.split(",").map((key) => key.trim())
    .filter((key) => key !== "" && !PROTECTED_KEYS.includes(key) && (data[key] === undefined || isBase64OcspResponse(data[key])));
  const present = keys.flatMap((key) => { const value = data[key]; return typeof value === "string" ? [[key, value] as const] : []; });
  return {
    inPlace: {
      keys,
      data: Object.fromEntries(present),
      certificateSha256: annotations[ANNOTATION.certSha256],
      annotations: Object.fromEntries(Object.values(ANNOTATION).flatMap((name) => { const value = annotations[name]; return value === undefined ? [] : [[name, value] as const]; })),
    },
  };
}

export function secretKey(secret: { namespace: string; name: string }): string {
  return `${secret.namespace}/${secret.name}`;
}

export function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === "object" && value !== null && Object.values(value).every((entry) => typeof entry === "string");
}

/** LIST results come deserialized (a Date), WATCH events raw (an RFC 3339 string). */
export function timestamp(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  return typeof value === "string" ? value : "";
}

/**
 * Whether a data value is base64 of an OCSP response (whatever it answers),
 * or of a `chain: Full` bundle: PEM blocks each holding one (chain-keys.ts).
 */
function isBase64OcspResponse(value: unknown): boolean {
  if (typeof value !== "string") return false;
  const bytes = new Uint8Array(Buffer.from(value, "base64"));
  if (isOcspResponse(bytes)) return true;
  try {
    return readResponseBundle(bytes, "bundle").every(isOcspResponse);
  } catch (error) {
    if (isOcspError(error)) return false;
    throw error;
  }
}
