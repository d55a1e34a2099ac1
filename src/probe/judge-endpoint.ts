import { rfc3339 } from "../kube/rfc3339.ts";
import type { EndpointState } from "./endpoint-state.ts";

/** The staple a handshake carried, as the engine judged it against the served chain. */
export type ServedStaple =
  | { readonly verified: true; readonly thisUpdateMs: number }
  | { readonly verified: false; readonly code: string; readonly message: string };

/** What one probe saw (observe-endpoint.ts): no handshake, or the served leaf and staple. */
export type ProbeObservation =
  | { readonly kind: "unreachable"; readonly message: string }
  | {
    readonly kind: "handshake";
    /** The served leaf's subject and serial, for messages. */
    readonly servedLeaf: { readonly subject: string; readonly serial: string };
    readonly staple?: ServedStaple;
  };

/** What the endpoint should serve: the selected Secret it is compared with, if one is known. */
export interface Expected {
  /** The Secret; absent when none was named and no selected Secret holds the served certificate. */
  readonly secret?: {
    readonly name: string;
    /** The served leaf is this Secret's tls.crt leaf. */
    readonly leafMatches: boolean;
    readonly serial: string;
    /** The staple the operator stored for it: its thisUpdate, and since when the prober knows it. */
    readonly stored?: { readonly thisUpdateMs: number; readonly seenSinceMs: number };
  };
  /** spec.probe.propagationGrace: how long an endpoint may serve the staple before the stored one. */
  readonly propagationGraceMs: number;
}

/** The verdict on one probe: the status entry's state and message, and what the metrics show. */
export interface Judgement {
  readonly state: EndpointState;
  readonly message: string;
  readonly reachable: boolean;
  /** A staple that verifies against the served chain was served (Served, OldStaple, or one for another certificate). */
  readonly stapleServed?: boolean;
  readonly servedThisUpdateMs?: number;
  /** How far the served staple's thisUpdate is behind the stored one's (0 when not behind). */
  readonly behindMs?: number;
  readonly certificateMatches?: boolean;
}

/**
 * The judgement table, pure (README, "Is the staple served?"):
 *
 * | saw                                              | state               |
 * |--------------------------------------------------|---------------------|
 * | no TLS handshake (refused, reset, timeout)       | Unreachable         |
 * | a certificate that is not the Secret's           | CertificateMismatch |
 * | no staple                                        | NoStaple            |
 * | a staple that does not verify, or expired        | InvalidStaple       |
 * | the stored staple, a newer one, or none stored   | Served              |
 * | an older one, stored staple new (< grace)        | Served (propagating)|
 * | an older one, stored staple older than the grace | OldStaple           |
 *
 * The certificate comes first: a pod on an old certificate may well staple
 * (its own, old, staple), and the fix is the certificate.
 */
export function judgeEndpoint(observation: ProbeObservation, expected: Expected, nowMs: number): Judgement {
  if (observation.kind === "unreachable") return { state: "Unreachable", message: observation.message, reachable: false };
  const { secret } = expected;
  const { staple, servedLeaf } = observation;
  const served = { reachable: true, stapleServed: staple?.verified === true, ...(staple?.verified === true ? { servedThisUpdateMs: staple.thisUpdateMs } : {}) };
  const certificate = `"${servedLeaf.subject}" (serial ${servedLeaf.serial})`;
  if (secret === undefined) {
    return { ...served, state: "CertificateMismatch", certificateMatches: false, message: `serves ${certificate}, which no Secret this StapleConfig selects holds: name the Secret it should serve with "secret"` };
  }
  if (!secret.leafMatches) {
    return { ...served, state: "CertificateMismatch", certificateMatches: false, message: `serves ${certificate}, not the certificate of Secret ${secret.name} (serial ${secret.serial}): a server still on an older certificate?` };
  }
  const matched = { ...served, certificateMatches: true };
  if (staple === undefined) return { ...matched, state: "NoStaple", message: `no OCSP staple in the handshake for Secret ${secret.name} (asked with status_request)` };
  if (!staple.verified) return { ...matched, state: "InvalidStaple", message: `the served staple is refused: ${staple.code}: ${staple.message}` };
  return { ...matched, ...currency(staple.thisUpdateMs, secret.stored, expected.propagationGraceMs, nowMs) };
}

/** Served or OldStaple: how the served staple's thisUpdate compares with the stored one's. */
function currency(servedMs: number, stored: { thisUpdateMs: number; seenSinceMs: number } | undefined, graceMs: number, nowMs: number): { state: EndpointState; message: string; behindMs: number } {
  const served = `thisUpdate ${rfc3339(servedMs)}`;
  if (stored === undefined) return { state: "Served", behindMs: 0, message: `serves a verified staple (${served}); none is stored for it now` };
  if (servedMs >= stored.thisUpdateMs) return { state: "Served", behindMs: 0, message: `serves the stored staple (${served})${servedMs > stored.thisUpdateMs ? ", or a newer one" : ""}` };
  const behindMs = stored.thisUpdateMs - servedMs;
  const storedFor = nowMs - stored.seenSinceMs;
  const older = `an older staple (${served}) than the one stored (thisUpdate ${rfc3339(stored.thisUpdateMs)})`;
  // Messages name instants, never "n seconds ago": a message that changed at every probe would rewrite the status at every probe.
  const since = `known since ${rfc3339(stored.seenSinceMs)}`;
  if (storedFor <= graceMs) return { state: "Served", behindMs, message: `serves ${older}, ${since}: within propagationGrace (${seconds(graceMs)}) for the kubelet and the reloader to bring it` };
  return { state: "OldStaple", behindMs, message: `serves ${older}, ${since}, beyond propagationGrace (${seconds(graceMs)}): is its reloader running, and does the pod mount the companion?` };
}

function seconds(ms: number): string {
  return `${String(Math.round(ms / 1000))}s`;
}

