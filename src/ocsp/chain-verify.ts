import { resolveChainElements } from "./chain-elements.ts";
import { settleElement, type ChainElementResult } from "./chain-result.ts";
import { fail } from "./errors.ts";
import type { StapleVerification, VerifiedStaple } from "./verify-staple.ts";
import { verifyResponse } from "./verify.ts";

/** As for one staple, except the issuer: each element's is searched for (see resolveChainElements). */
export type ChainVerification = Omit<StapleVerification, "issuer">;

/** One result per response given, in the same order: verified, or the coded reason it was refused. */
export type ChainVerifyResult = ChainElementResult<VerifiedStaple>;

/**
 * The counterpart of fetchChainStaples for staples already in hand (a
 * bundle read back, a companion Secret's keys): `responses[i]` must be about
 * the chain's element i (0 the leaf, then its intermediates in served
 * order), and each is verified against that element and its issuer exactly
 * as a single staple is (`verifyResponse`, at `at`). A response may be
 * missing at the end (fewer responses than elements): only those given are
 * judged.
 *
 * Rejects as a whole (BadCertificate) a chain resolveChainElements refuses,
 * and (BadInput) more responses than the chain has elements, since which
 * certificate the extra ones are about cannot be told.
 */
export async function verifyChainStaples(responses: readonly Uint8Array[], options: ChainVerification): Promise<ChainVerifyResult[]> {
  const elements = await resolveChainElements(options.chain, {
    ...(options.explicitIssuers === undefined ? {} : { explicit: options.explicitIssuers }),
    ...(options.download === undefined ? {} : { download: options.download }),
  });
  if (responses.length > elements.length) {
    fail("BadInput", `${responses.length} responses were given for a chain of ${elements.length} certificate(s) whose status can be stapled (the leaf and its intermediates, leaf first); give the whole chain`);
  }
  return Promise.all(responses.map((der, index) => {
    // Defined: responses.length <= elements.length, checked above.
    const element = elements[index] ?? fail("BadInput", `no chain element ${index}`);
    return settleElement(element, (issuer) => ({
      issuer,
      response: verifyResponse(der, {
        subject: element.certificate,
        issuer: issuer.certificate,
        at: options.at,
        ...(options.skewMs === undefined ? {} : { skewMs: options.skewMs }),
        ...(options.cache === undefined ? {} : { cache: options.cache }),
      }),
    }));
  }));
}
