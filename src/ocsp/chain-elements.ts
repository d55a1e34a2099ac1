import type { Certificate } from "./certificate.ts";
import type { Chain } from "./chain.ts";
import { fail, isOcspError, OcspError } from "./errors.ts";
import { findChainIssuer, findIssuer, type FoundIssuer, type IssuerSources } from "./issuer.ts";

/**
 * The most certificates a chain may hold when every element's status is
 * fetched (`chain: Full`). Each element costs an issuer search and a request
 * to a responder; a served chain is the leaf and one to three intermediates
 * (four or five with a cross-signed root), so more than 8 is a mistake, such
 * as a CA bundle pasted into tls.crt, and must not turn into a burst of
 * requests to CAs. Stricter than readChain's MAX_CHAIN_CERTIFICATES, which
 * only bounds decoding for the leaf's staple.
 */
export const MAX_STAPLED_CHAIN_CERTIFICATES = 8;

/** The leaf is element 0; intermediates follow in the order the chain serves them. */
export type ElementRole = "leaf" | "intermediate";

/** One certificate of the chain whose status is stapled, and its issuer. */
export interface ChainElement {
  /** Position among the stapled elements: 0 the leaf, 1 the first intermediate, ... */
  readonly index: number;
  readonly role: ElementRole;
  readonly certificate: Certificate;
  /** Its issuer, or why none was found (NoIssuer): then this element fails alone, the others go on. */
  readonly issuer: FoundIssuer | OcspError;
}

/**
 * The elements of a served chain whose status can be stapled (RFC 6961,
 * RFC 8446 §4.4.2.1: one status per certificate sent), leaf first: the leaf,
 * then every intermediate of tls.crt except self-signed ones (a root has no
 * one above it to answer for it). Each element's issuer is searched the way
 * the leaf's is (the chain, ca.crt, the explicit issuers, AIA caIssuers).
 *
 * Refused as a whole with BadCertificate, before any request: a chain of more
 * than MAX_STAPLED_CHAIN_CERTIFICATES, a certificate that appears twice, and
 * an issuer cycle (A issued by B issued by A), which has no root and would
 * send a client's path building in circles.
 */
export async function resolveChainElements(chain: Chain, sources: IssuerSources = {}): Promise<ChainElement[]> {
  refuseBadShape(chain);
  const subjects = [chain.leaf, ...chain.intermediates.filter((certificate) => !isSelfSigned(certificate))];
  const elements = await Promise.all(subjects.map(async (certificate, index): Promise<ChainElement> => ({
    index,
    role: index === 0 ? "leaf" : "intermediate",
    certificate,
    issuer: await issuerOrError(() => index === 0 ? findChainIssuer(chain, sources) : findIntermediateIssuer(certificate, chain, sources)),
  })));
  refuseIssuerCycle(elements);
  return elements;
}

/** A self-signed certificate names itself as issuer and its own key verifies it: a root, never stapled. */
export function isSelfSigned(certificate: Certificate): boolean {
  return certificate.isIssuedBy(certificate);
}

function refuseBadShape(chain: Chain): void {
  const served = [chain.leaf, ...chain.intermediates];
  if (served.length > MAX_STAPLED_CHAIN_CERTIFICATES) {
    fail("BadCertificate", `the chain holds ${served.length} certificates, more than the ${MAX_STAPLED_CHAIN_CERTIFICATES} whose status may be fetched (the leaf and its intermediates); remove the others`);
  }
  const seen = new Map<string, number>();
  served.forEach((certificate, position) => {
    const first = seen.get(certificate.sha256);
    if (first !== undefined) {
      fail("BadCertificate", `the chain holds "${certificate.subject}" twice (certificates ${first + 1} and ${position + 1}): a loop; list each certificate once`);
    }
    seen.set(certificate.sha256, position);
  });
}

/**
 * An intermediate's issuer: searched among every other served certificate
 * (the leaf included, so that a cycle through it shows), then ca.crt, the
 * explicit issuers and its own AIA caIssuers URLs, as for the leaf.
 */
function findIntermediateIssuer(certificate: Certificate, chain: Chain, sources: IssuerSources): Promise<FoundIssuer> {
  return findIssuer(certificate, {
    chain: [chain.leaf, ...chain.intermediates],
    caCrt: chain.extraCas,
    explicit: sources.explicit ?? [],
    ...(sources.download === undefined ? {} : { download: sources.download }),
  });
}

/** A missing issuer is the element's own failure; anything but an OcspError is a bug and propagates. */
async function issuerOrError(find: () => Promise<FoundIssuer>): Promise<FoundIssuer | OcspError> {
  try {
    return await find();
  } catch (error) {
    if (isOcspError(error)) return error;
    throw error;
  }
}

/** Follows issuer links from the leaf through the elements; coming back to one already passed is a cycle. */
function refuseIssuerCycle(elements: readonly ChainElement[]): void {
  const bySha256 = new Map(elements.map((element) => [element.certificate.sha256, element]));
  const passed = new Set<string>();
  let current = elements[0];
  while (current !== undefined) {
    passed.add(current.certificate.sha256);
    if (current.issuer instanceof OcspError) return;
    const next = current.issuer.certificate.sha256;
    if (passed.has(next)) {
      fail("BadCertificate", `the chain's issuers form a loop: "${current.certificate.subject}" is issued by "${current.issuer.certificate.subject}", which comes before it; no root ends this chain`);
    }
    current = bySha256.get(next);
  }
}
