import type { Certificate } from "./certificate.ts";
import type { Chain } from "./chain.ts";
import { resolveChainElements } from "./chain-elements.ts";
import { settleElement, type ChainElementResult } from "./chain-result.ts";
import { fail } from "./errors.ts";
import type { FoundIssuer } from "./issuer.ts";
import type { FetchedStaple, FetchOptions } from "./ocsp-client.ts";

/** One element's fetch: the client's options with the element as the chain's leaf and its issuer already found. */
export type ElementFetchRequest = Omit<FetchOptions, "issuer" | "explicitIssuers"> & { readonly issuer: FoundIssuer };

/**
 * Gets one element's verified staple. `OcspClient.fetchStaple` is one; the
 * operator's per-responder queue in front of it (StapleFetcher) is another,
 * so intermediates' fetches wait in their responder's queue like leaves'.
 */
export type ElementFetcher = (request: ElementFetchRequest) => Promise<FetchedStaple>;

export interface ChainFetchOptions extends Omit<FetchOptions, "issuer"> {
  /** Downloads the AIA caIssuers certificates when nothing local fits; without it nothing is downloaded. */
  readonly download?: (url: string) => Promise<Certificate[]>;
}

/** One result per element, leaf first: its verified staple and responder, or its coded error. */
export type ChainFetchResult = ChainElementResult<FetchedStaple>;

/**
 * Fetches and verifies the status of every element of a chain (the leaf and
 * its intermediates, never a root: see resolveChainElements), each with the
 * same limits, codes and rules as the leaf alone, all at once.
 *
 * `urlOverride` replaces only the leaf's responder: an intermediate's status
 * comes from its parent CA's responder, named in the intermediate itself.
 * The method, CertID hash, nonce, timeout, size cap and skew apply to all.
 *
 * Rejects (BadCertificate) only for a chain refused as a whole: too long,
 * a certificate twice, an issuer cycle. Every other failure is its element's.
 */
export async function fetchChainStaples(fetchOne: ElementFetcher, options: ChainFetchOptions): Promise<ChainFetchResult[]> {
  const { chain, explicitIssuers, download, urlOverride, ...request } = options;
  const elements = await resolveChainElements(chain, {
    ...(explicitIssuers === undefined ? {} : { explicit: explicitIssuers }),
    ...(download === undefined ? {} : { download }),
  });
  return Promise.all(elements.map((element) => settleElement(element, (issuer) => {
    if (element.role === "leaf") return fetchOne({ ...request, chain, issuer, ...(urlOverride === undefined ? {} : { urlOverride }) });
    refuseWithoutResponder(element.certificate);
    // The client asks about a chain's leaf: an intermediate is asked about as the leaf of a chain of its own.
    return fetchOne({ ...request, chain: alone(element.certificate), issuer });
  })));
}

/**
 * Said here rather than by the client, whose message suggests a URL
 * override: the override is the leaf's, and an intermediate without an OCSP
 * URL is a CA that offers no status for it (common since CAs dropped OCSP
 * for intermediates), not a setting to fix.
 */
function refuseWithoutResponder(intermediate: Certificate): void {
  if (intermediate.ocspUrls.length === 0) {
    fail("NoResponderURL", `the intermediate "${intermediate.subject}" names no OCSP responder (no AIA OCSP URL): its CA offers no status for it, so it gets no staple`);
  }
}

function alone(certificate: Certificate): Chain {
  return { leaf: certificate, intermediates: [], extraCas: [] };
}
