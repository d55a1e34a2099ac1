import { chainData, type ChainStaples } from "./chain-keys.ts";
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
 * Our data keys in the TLS Secret: the leaf's DER under each target key and,
 * with `chain` (`chain: Full`), each intermediate's staple and the bundle
 * (chain-keys.ts), exactly as a companion holds them. The leaf's keys come
 * first: the staple-keys annotation lists them in this order.
 */
export function inPlaceData(keys: readonly string[], staple: StapleToWrite, chain?: ChainStaples): Record<string, string> {
  const der = Buffer.from(staple.response.der).toString("base64");
  return { ...Object.fromEntries(keys.map((key) => [key, der])), ...(chain === undefined ? {} : chainData(keys, staple.response, chain)) };
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
export function inPlaceApplyBody(secret: InPlaceSecret, data: Readonly<Record<string, string>>, staple: StapleToWrite): object {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: secret.name, namespace: secret.namespace, uid: secret.uid, resourceVersion: secret.resourceVersion,
      annotations: inPlaceAnnotations(data, staple),
    },
    data,
  };
}

/** Whether the Secret already holds exactly what `inPlaceApplyBody` would write, and none of our keys besides. */
export function holdsInPlace(stored: InPlaceStaple | undefined, data: Readonly<Record<string, string>>, staple: StapleToWrite): boolean {
  if (stored === undefined) return false;
  const annotations = inPlaceAnnotations(data, staple);
  return Object.entries(data).every(([key, value]) => stored.data[key] === value) &&
    Object.keys(stored.data).every((key) => key in data) &&
    Object.entries(annotations).every(([name, value]) => stored.annotations[name] === value) &&
    Object.keys(stored.annotations).every((name) => name in annotations);
}

function inPlaceAnnotations(data: Readonly<Record<string, string>>, staple: StapleToWrite): Record<string, string> {
  return { ...stapleAnnotations(staple), [ANNOTATION.stapleKeys]: Object.keys(data).join(",") };
}

/**
 * A JSON patch that takes some of our data keys out (an intermediate's
 * staple withdrawn, the chain's keys after a return to `chain: Leaf`),
 * guarded like inPlaceRemovalPatch; the apply that follows rewrites the
 * staple-keys annotation.
 */
export function inPlaceKeysRemovalPatch(resourceVersion: string, keys: readonly string[]): object[] {
  return [{ op: "test", path: "/metadata/resourceVersion", value: resourceVersion }, ...keys.map((key) => ({ op: "remove", path: `/data/${pointer(key)}` }))];
}

/**
 * A JSON patch that takes our keys and annotations out of the TLS Secret,
 * guarded by a `test` on the resourceVersion. An apply that stops sending a key
 * would not do: after a plain update by another client (cert-manager renewing),
 * that client co-owns our key and the key would stay (notes/libraries.md).
 */
export function inPlaceRemovalPatch(resourceVersion: string, stored: InPlaceStaple): object[] {
  return [
    { op: "test", path: "/metadata/resourceVersion", value: resourceVersion },
    ...Object.keys(stored.data).map((key) => ({ op: "remove", path: `/data/${pointer(key)}` })),
    ...Object.keys(stored.annotations).map((name) => ({ op: "remove", path: `/metadata/annotations/${pointer(name)}` })),
  ];
}

/** A JSON pointer segment (RFC 6901). */
function pointer(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}
