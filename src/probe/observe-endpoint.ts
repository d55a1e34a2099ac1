import { sha256Hex } from "../ocsp/bytes.ts";
import { Certificate } from "../ocsp/certificate.ts";
import { isOcspError, messageOf } from "../ocsp/errors.ts";
import type { VerificationCache } from "../ocsp/verification-cache.ts";
import { verifyStaple } from "../ocsp/verify-staple.ts";
import type { ProbeEndpoint } from "../kube/staple-config.ts";
import type { ProbeObservation, ServedStaple } from "./judge-endpoint.ts";
import { parseTarget, probeTls, type ServedHandshake } from "./tls-probe.ts";

/** What the served staple is checked against besides the served chain: the expected Secret's CA certificates. */
export interface ObserveContext {
  readonly timeoutMs: number;
  readonly at: () => Date;
  /** The prober's deadline or stop: abandons the handshake. */
  readonly signal: AbortSignal;
  /** CA certificates (DER) to find the issuer among when the server sends no intermediate: the Secret's tls.crt and ca.crt. */
  readonly authoritiesFor: (servedLeafSha256: string) => readonly Uint8Array[];
  /** The controller's cache of authentic responses: a staple served unchanged is verified once. */
  readonly cache?: VerificationCache;
}

/** One probe's raw facts: what the handshake saw, and the served leaf's SHA-256 to find its Secret by. */
export interface Observed {
  readonly observation: ProbeObservation;
  readonly servedLeafSha256?: string;
}

/**
 * One TLS handshake asking for status_request (RFC 6066 §8) with the
 * endpoint's SNI, then the engine's verdict on the staple for the served
 * leaf, as clients see it. Never throws: a failure is what was observed.
 */
export async function observeEndpoint(endpoint: ProbeEndpoint, context: ObserveContext): Promise<Observed> {
  let served: ServedHandshake;
  try {
    const target = parseTarget(endpoint.address);
    served = await probeTls(target.host, target.port, endpoint.serverName ?? target.defaultServername, context.timeoutMs, context.signal);
  } catch (error) {
    return { observation: { kind: "unreachable", message: isOcspError(error) ? error.message : `TLS connection to ${endpoint.address} failed: ${messageOf(error)}` } };
  }
  const [leafDer, ...rest] = served.chain;
  if (leafDer === undefined) return { observation: { kind: "unreachable", message: `${endpoint.address} completed a handshake without a certificate` } };
  const servedLeafSha256 = sha256Hex(leafDer);
  let leaf: Certificate;
  try {
    leaf = Certificate.fromDer(leafDer, "served certificate");
  } catch (error) {
    const code = isOcspError(error) ? error.code : "BadCertificate";
    return { servedLeafSha256, observation: { kind: "handshake", servedLeaf: { subject: "an undecodable certificate", serial: "?" }, staple: { verified: false, code, message: messageOf(error) } } };
  }
  const servedLeaf = { subject: leaf.subject, serial: leaf.serial };
  if (served.staple === undefined) return { servedLeafSha256, observation: { kind: "handshake", servedLeaf } };
  const staple = await checkStaple(served.staple, leaf, [...rest, ...context.authoritiesFor(servedLeafSha256)], context);
  return { servedLeafSha256, observation: { kind: "handshake", servedLeaf, staple } };
}

/** The engine's verification of a served staple for the served leaf, issuer among the served and known CAs, nothing downloaded. */
async function checkStaple(der: Uint8Array, leaf: Certificate, authorities: readonly Uint8Array[], context: ObserveContext): Promise<ServedStaple> {
  try {
    const intermediates = authorities.flatMap((authority, index) => {
      try {
        return [Certificate.fromDer(authority, `CA certificate ${String(index + 1)}`)];
      } catch {
        return [];
      }
    });
    const { response } = await verifyStaple(der, { chain: { leaf, intermediates, extraCas: [] }, at: context.at(), ...(context.cache === undefined ? {} : { cache: context.cache }) });
    return { verified: true, thisUpdateMs: response.thisUpdate.getTime() };
  } catch (error) {
    if (!isOcspError(error)) throw error;
    return { verified: false, code: error.code, message: error.message };
  }
}
