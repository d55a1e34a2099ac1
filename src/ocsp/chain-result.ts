import type { Certificate } from "./certificate.ts";
import type { ChainElement, ElementRole } from "./chain-elements.ts";
import { isOcspError, OcspError } from "./errors.ts";
import type { FoundIssuer } from "./issuer.ts";

/** Which element of the chain a result is about. */
interface ElementIdentity {
  readonly index: number;
  readonly role: ElementRole;
  readonly certificate: Certificate;
}

/**
 * What became of one element of a chain: its staple `S`, or the coded error
 * that stopped it. One per element, leaf first, so one element's failure
 * (an intermediate without an OCSP URL, its responder down) never hides
 * what the others got.
 */
export type ChainElementResult<S> =
  | (ElementIdentity & { readonly ok: true; readonly staple: S })
  | (ElementIdentity & { readonly ok: false; readonly error: OcspError });

/**
 * Runs `work` for one element with its issuer and turns an OcspError into
 * that element's failed result. Anything else thrown is a bug and rejects,
 * as it would for the leaf alone.
 */
export async function settleElement<S>(element: ChainElement, work: (issuer: FoundIssuer) => Promise<S> | S): Promise<ChainElementResult<S>> {
  const identity: ElementIdentity = { index: element.index, role: element.role, certificate: element.certificate };
  if (element.issuer instanceof OcspError) return { ...identity, ok: false, error: element.issuer };
  try {
    return { ...identity, ok: true, staple: await work(element.issuer) };
  } catch (error) {
    if (!isOcspError(error)) throw error;
    return { ...identity, ok: false, error };
  }
}
