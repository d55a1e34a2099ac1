import type { Certificate } from "./certificate.ts";
import type { Chain } from "./chain.ts";
import { findChainIssuer, type FoundIssuer } from "./issuer.ts";
import type { VerificationCache } from "./verification-cache.ts";
import type { VerifiedResponse } from "./verified-response.ts";
import { verifyResponse } from "./verify.ts";

export interface StapleVerification {
  /** The served chain: the staple must be about its leaf; its other certificates and ca.crt are issuer candidates. */
  readonly chain: Chain;
  /**
   * The leaf's issuer when the caller already found it (`findChainIssuer`,
   * before a fetch): then it is not searched for again, and nothing else
   * below about issuers is used.
   */
  readonly issuer?: FoundIssuer;
  /** Issuer certificates the user gave explicitly (`--issuer`), searched after ca.crt. */
  readonly explicitIssuers?: readonly Certificate[];
  /** Downloads the AIA caIssuers certificates when nothing local fits; without it nothing is downloaded. */
  readonly download?: (url: string) => Promise<Certificate[]>;
  /** The instant to judge freshness at. */
  readonly at: Date;
  /** Tolerated clock difference with the responder (verify.ts's default unless given). */
  readonly skewMs?: number;
  /** The process's cache of authentic responses (the controller and the reloader hold one; the CLI need not). */
  readonly cache?: VerificationCache;
}

/** A staple that verified, and the issuer it verified against. */
export interface VerifiedStaple {
  readonly response: VerifiedResponse;
  readonly issuer: FoundIssuer;
}

/**
 * The engine's one answer to "is this staple valid for this chain now?":
 * finds the leaf's issuer the standard way (`findChainIssuer`) unless given,
 * then verifies the staple for the leaf at `at` (`verifyResponse`, through
 * the cache when there is one). Throws the engine's coded OcspErrors:
 * `NoIssuer` when no issuer is found, the contract's codes when the staple
 * is refused.
 */
export async function verifyStaple(der: Uint8Array, options: StapleVerification): Promise<VerifiedStaple> {
  const issuer = options.issuer ?? await findChainIssuer(options.chain, {
    ...(options.explicitIssuers === undefined ? {} : { explicit: options.explicitIssuers }),
    ...(options.download === undefined ? {} : { download: options.download }),
  });
  const response = verifyResponse(der, {
    subject: options.chain.leaf,
    issuer: issuer.certificate,
    at: options.at,
    ...(options.skewMs === undefined ? {} : { skewMs: options.skewMs }),
    ...(options.cache === undefined ? {} : { cache: options.cache }),
  });
  return { response, issuer };
}
