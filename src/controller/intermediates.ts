import type { Certificate } from "../ocsp/certificate.ts";
import { resolveChainElements, type ChainElement } from "../ocsp/chain-elements.ts";
import type { Chain } from "../ocsp/chain.ts";
import { fail, isOcspError } from "../ocsp/errors.ts";
import type { FoundIssuer } from "../ocsp/issuer.ts";
import type { VerificationCache } from "../ocsp/verification-cache.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import { verifyResponse } from "../ocsp/verify.ts";
import { intermediateKey } from "../kube/chain-keys.ts";
import type { StapleConfig } from "../kube/staple-config.ts";
import type { ElementFetch } from "../staple/chain-plan.ts";
import { HostBusy } from "./host-busy.ts";
import type { StapleFetcher } from "./staple-fetcher.ts";

/** An intermediate whose status is stapled with `chain: Full`, and its issuer (or why none was found). */
export type Intermediate = ChainElement & { readonly role: "intermediate" };

/**
 * The `chain: Full` I/O of a reconcile that is about intermediates: finding
 * them and their issuers (once per parsed chain), re-verifying their staples
 * in place, and fetching them through the StapleFetcher — so their requests
 * wait in their responder's queue like leaves', and 100 Secrets under one
 * intermediate share ONE request for it (the fetcher dedupes by certificate).
 */
export class Intermediates {
  /** Keyed by the parsed chain, which the reconciler's ChainCache keeps while the Secret is unchanged. */
  private readonly resolved = new WeakMap<Chain, Promise<Intermediate[]>>();
  private readonly download: (url: string) => Promise<Certificate[]>;

  constructor(download: (url: string) => Promise<Certificate[]>) {
    this.download = download;
  }

  /** The chain's intermediates (no root); rejects with BadCertificate for a chain refused as a whole (resolveChainElements). */
  of(chain: Chain): Promise<Intermediate[]> {
    let found = this.resolved.get(chain);
    if (found === undefined) {
      found = resolveChainElements(chain, { download: this.download })
        .then((elements) => elements.filter((element): element is Intermediate => element.role === "intermediate"));
      // A refusal is not kept: the Secret's next version gets a fresh look (and a failed AIA download another try).
      found.catch(() => this.resolved.delete(chain));
      this.resolved.set(chain, found);
    }
    return found;
  }
}

/** Each intermediate's staple in place (`<first key>.<n>`), verified now; undefined when absent or no longer valid. */
export function storedIntermediates(intermediates: readonly Intermediate[], data: Readonly<Record<string, string>> | undefined, firstKey: string, now: Date, cache: VerificationCache | undefined): (VerifiedResponse | undefined)[] {
  return intermediates.map((element) => {
    const base64 = data?.[intermediateKey(firstKey, element.index)];
    if (base64 === undefined || !isFound(element.issuer)) return undefined;
    try {
      return verifyResponse(new Uint8Array(Buffer.from(base64, "base64")), { subject: element.certificate, issuer: element.issuer.certificate, at: now, ...(cache === undefined ? {} : { cache }) });
    } catch {
      // Expired, or about another certificate: unusable now, so the plan replaces or withdraws it.
      return undefined;
    }
  });
}

/**
 * Fetches every intermediate's status at once through the fetcher. An
 * intermediate's status comes from its parent's responder, named in the
 * intermediate itself: the config's urlOverride is the leaf's and is not
 * used. Each failure is its element's (NoIssuer, NoResponderURL, the
 * responder's codes). A full backlog at the responder is waited out.
 */
export function fetchIntermediates(fetcher: StapleFetcher, intermediates: readonly Intermediate[], config: StapleConfig, now: number): Promise<ElementFetch[]> {
  return Promise.all(intermediates.map(async (element): Promise<ElementFetch> => {
    try {
      const issuer = isFound(element.issuer) ? element.issuer : fail(element.issuer.code, element.issuer.message);
      const response = await fetchThroughQueue(fetcher, element.certificate, issuer, config, now);
      return { ok: true, response };
    } catch (error) {
      if (!isOcspError(error)) throw error;
      return { ok: false, code: error.code, message: error.message };
    }
  }));
}

async function fetchThroughQueue(fetcher: StapleFetcher, certificate: Certificate, issuer: FoundIssuer, config: StapleConfig, now: number): Promise<VerifiedResponse> {
  if (certificate.ocspUrls.length === 0) {
    fail("NoResponderURL", `the intermediate "${certificate.subject}" names no OCSP responder (no AIA OCSP URL): its CA offers no status for it, so it gets no staple`);
  }
  for (;;) {
    try {
      // Asked about as the leaf of a chain of its own: the fetcher's dedupe key is this certificate.
      return await fetcher.fetch({ chain: { leaf: certificate, intermediates: [], extraCas: [] }, issuer, method: config.responder.method, timeoutMs: config.responder.timeoutMs }, now);
    } catch (error) {
      if (!(error instanceof HostBusy)) throw error;
      await error.free;
    }
  }
}

function isFound(issuer: ChainElement["issuer"]): issuer is FoundIssuer {
  return !isOcspError(issuer);
}
