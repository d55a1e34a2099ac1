/**
 * A kubernetes.io/tls Secret as the operator caches it: everything the
 * reconciler needs and, on purpose, not `tls.key`. The transform runs on
 * every object before any cache stores it, so private keys never stay in the
 * operator's memory longer than one decode (DESIGN.md: never logged, never
 * cached, never written).
 */
export interface TlsSecret {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly creationTimestamp: string;
  /** PEM, leaf first. */
  readonly tlsCrt: string;
  readonly caCrt?: string;
}

export const TLS_SECRET_TYPE = "kubernetes.io/tls";

interface RawSecret {
  type?: unknown;
  metadata?: { namespace?: unknown; name?: unknown; uid?: unknown; labels?: unknown; creationTimestamp?: unknown };
  data?: Record<string, unknown>;
}

export function toTlsSecret(raw: unknown): TlsSecret | undefined {
  const secret = raw as RawSecret | null;
  if (secret?.type !== TLS_SECRET_TYPE) return undefined;
  const { namespace, name, uid, labels, creationTimestamp } = secret.metadata ?? {};
  if (typeof namespace !== "string" || typeof name !== "string" || typeof uid !== "string") return undefined;
  const crt = secret.data?.["tls.crt"];
  const ca = secret.data?.["ca.crt"];
  return {
    namespace,
    name,
    uid,
    labels: isStringMap(labels) ? labels : {},
    creationTimestamp: timestamp(creationTimestamp),
    tlsCrt: typeof crt === "string" ? Buffer.from(crt, "base64").toString("latin1") : "",
    ...(typeof ca === "string" ? { caCrt: Buffer.from(ca, "base64").toString("latin1") } : {}),
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
