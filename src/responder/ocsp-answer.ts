import type { ParsedRequest } from "../ocsp/request-parser.ts";
import { certIdKey } from "./cert-id-key.ts";
import type { ServableStaple } from "./servable-staple.ts";
import type { StapleIndex } from "./staple-index.ts";

/**
 * What the responder answers to one OCSPRequest:
 * - `staple`: the stored, signed response that answers every CertID asked;
 * - `unauthorized` (RFC 5019 §2.2.3): no current staple for it — the
 *   responder never signs and never asks the CA;
 * - `malformed`: not an OCSPRequest, no CertID in it, or several CertIDs that
 *   no single stored response answers together.
 */
export type OcspAnswer =
  | { readonly kind: "staple"; readonly staple: ServableStaple }
  | { readonly kind: "unauthorized" }
  | { readonly kind: "malformed"; readonly why: string };

/**
 * Looks a request up. Several CertIDs in one request (RFC 5019 §2.1.1 says a
 * client MUST send one; RFC 6960 allows more) are answered only when one
 * stored response covers them all, since a pre-signed answer cannot be
 * recombined; otherwise `malformedRequest`, the status RFC 5019 gives a
 * request outside the profile. A nonce is ignored (RFC 5019 §2.2.1): the
 * answer is the pre-signed staple, without one.
 */
export function answerRequest(request: ParsedRequest | undefined, index: StapleIndex, nowMs: number): OcspAnswer {
  if (request === undefined) return { kind: "malformed", why: "not an OCSPRequest" };
  const keys = request.certIds.map(certIdKey);
  if (keys.length === 0) return { kind: "malformed", why: "no CertID in the request" };
  const staple = index.lookup(keys, nowMs);
  if (staple !== undefined) return { kind: "staple", staple };
  return keys.length === 1 ? { kind: "unauthorized" } : { kind: "malformed", why: `${keys.length} CertIDs that no one stored response answers together` };
}
