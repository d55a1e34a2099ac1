import { stapleAnnotations, type StapleToWrite } from "./companion-secret.ts";
import { ANNOTATION } from "./metadata-keys.ts";
import type { InPlaceStaple } from "./tls-secret.ts";

/** The TLS Secret an InPlace staple is written into, as last seen. */
export interface InPlaceSecret {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly resourceVersion: string;
}

/**
 * The server-side-apply body for InPlace mode: only our data keys and
 * annotations, so that tls.crt and tls.key stay with whoever wrote them
 * (cert-manager) and the two managers never fight (DESIGN.md, "Who reads which
 * key"). uid and resourceVersion make it a guarded write: if the Secret was
 * replaced or changed since we read it (a renewal, most likely), the API server
 * refuses it, so a staple is never written beside a certificate it was not
 * fetched for, and a deleted Secret is never re-created by the apply.
 */
export function inPlaceApplyBody(secret: InPlaceSecret, keys: readonly string[], staple: StapleToWrite): object {
  const der = Buffer.from(staple.response.der).toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: secret.name, namespace: secret.namespace, uid: secret.uid, resourceVersion: secret.resourceVersion,
      annotations: { ...stapleAnnotations(staple), [ANNOTATION.stapleKeys]: keys.join(",") },
    },
    data: Object.fromEntries(keys.map((key) => [key, der])),
  };
}

/** Whether the Secret already holds exactly what `inPlaceApplyBody` would write. */
export function holdsInPlace(stored: InPlaceStaple | undefined, keys: readonly string[], staple: StapleToWrite): boolean {
  if (stored === undefined) return false;
  const der = Buffer.from(staple.response.der).toString("base64");
  const annotations = { ...stapleAnnotations(staple), [ANNOTATION.stapleKeys]: keys.join(",") };
  return keys.every((key) => stored.data[key] === der) &&
    Object.entries(annotations).every(([name, value]) => stored.annotations[name] === value) &&
    Object.keys(stored.annotations).every((name) => name in annotations);
}

/**
 * A JSON patch that takes our keys and annotations out of the TLS Secret,
 * guarded by a `test` on the resourceVersion. An apply that stops sending a key
 * would not do: after a plain update by another client (cert-manager renewing),
 * that client co-owns our key and the key would stay (notes/libraries.md).
 */
export function inPlaceRemovalPatch(resourceVersion: string, stored: InPlaceStaple): object[] {
  const pointer = (segment: string) => segment.replaceAll("~", "~0").replaceAll("/", "~1");
  return [
    { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
    ...Object.keys(stored.data).map((key) => ({ op: "remove", path: `/data/${pointer(key)}` })),
    ...Object.keys(stored.annotations).map((name) => ({ op: "remove", path: `/metadata/annotations/${pointer(name)}` })),
  ];
}
