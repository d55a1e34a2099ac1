import type { Certificate } from "./certificate.ts";
import type { Chain } from "./chain.ts";
import { fail } from "./errors.ts";

/** Where an issuer was found, in the order they are searched. */
export type IssuerSource = "chain" | "ca.crt" | "explicit" | "aia";

export interface IssuerCandidates {
  readonly chain: readonly Certificate[];
  readonly caCrt: readonly Certificate[];
  readonly explicit: readonly Certificate[];
  /** Downloads the AIA caIssuers certificates; called only when nothing local fits. */
  readonly download?: (url: string) => Promise<Certificate[]>;
}

export interface FoundIssuer {
  readonly certificate: Certificate;
  readonly source: IssuerSource;
}

/**
 * Finds the certificate that issued `subject`. A candidate counts only if its
 * subject is `subject`'s issuer name and its key verifies `subject`'s
 * signature: the CertID is built from the issuer's name and key, so a wrong
 * issuer would make every response fail to match, or worse, match a
 * different CA's certificate.
 */
export async function findIssuer(subject: Certificate, candidates: IssuerCandidates): Promise<FoundIssuer> {
  const local: [IssuerSource, readonly Certificate[]][] = [["chain", candidates.chain], ["ca.crt", candidates.caCrt], ["explicit", candidates.explicit]];
  for (const [source, certificates] of local) {
    const match = certificates.find((candidate) => candidate !== subject && subject.isIssuedBy(candidate));
    if (match !== undefined) return { certificate: match, source };
  }
  if (candidates.explicit.length > 0) {
    fail("NoIssuer", `the given issuer did not sign "${subject.subject}" (its issuer name or key does not match)`);
  }
  const download = candidates.download;
  if (download !== undefined) {
    for (const url of subject.caIssuerUrls) {
      const match = (await download(url)).find((candidate) => subject.isIssuedBy(candidate));
      if (match !== undefined) return { certificate: match, source: "aia" };
    }
  }
  const hint = subject.caIssuerUrls.length === 0 ? "and it names no caIssuers URL" : `nor at ${subject.caIssuerUrls.join(", ")}`;
  return fail("NoIssuer", `no issuer of "${subject.subject}" was found in the chain or given ${hint}; pass the issuer with --issuer or add it to the chain`);
}

/** Where else to look for a chain's issuer, beyond the chain itself and its ca.crt. */
export interface IssuerSources {
  /** Issuer certificates the user gave explicitly (`--issuer`). */
  readonly explicit?: readonly Certificate[];
  /** Downloads the AIA caIssuers certificates; without it nothing is downloaded. */
  readonly download?: (url: string) => Promise<Certificate[]>;
}

/**
 * The issuer of a served chain's leaf, searched the standard way: the next
 * certificates in the chain, then ca.crt, then the explicit ones, then the
 * leaf's AIA caIssuers URLs. Every caller (fetch, inspect, check, the
 * reconciler, the reloader) goes through here, so they agree on the issuer.
 */
export function findChainIssuer(chain: Chain, sources: IssuerSources = {}): Promise<FoundIssuer> {
  return findIssuer(chain.leaf, {
    chain: chain.intermediates,
    caCrt: chain.extraCas,
    explicit: sources.explicit ?? [],
    ...(sources.download === undefined ? {} : { download: sources.download }),
  });
}
