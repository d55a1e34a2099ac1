import type { Certificate } from "./certificate.ts";
import type { Chain } from "./chain.ts";
import { certIdFor } from "./cert-id.ts";
import { fetchCaIssuers } from "./ca-issuers.ts";
import { fetchChainStaples, type ChainFetchOptions, type ChainFetchResult } from "./chain-fetch.ts";
import type { Clock } from "./clock.ts";
import { fail, isOcspError, OcspError } from "./errors.ts";
import type { HttpTransport } from "./http-transport.ts";
import { findChainIssuer, type FoundIssuer, type IssuerSource } from "./issuer.ts";
import type { HashName } from "./oids.ts";
import { encodeRequest } from "./request.ts";
import { queryResponder, type RequestMethod } from "./responder-client.ts";
import type { VerifiedResponse } from "./verified-response.ts";
import type { VerificationCache } from "./verification-cache.ts";
import { verifyResponse } from "./verify.ts";

export interface FetchOptions {
  readonly chain: Chain;
  /**
   * The leaf's issuer when the caller already found it (`findChainIssuer`):
   * it is not searched for again, and `explicitIssuers` is not used.
   */
  readonly issuer?: FoundIssuer;
  /** Issuer certificates the user gave explicitly (`--issuer`). */
  readonly explicitIssuers?: readonly Certificate[];
  /** Ask this responder instead of the certificate's AIA OCSP URL. */
  readonly urlOverride?: string;
  readonly method?: RequestMethod;
  readonly hashAlgorithm?: HashName;
  /** Send a nonce and require it back (RFC 8954); off by default, see request.ts. */
  readonly withNonce?: boolean;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
  readonly skewMs?: number;
}

/** A verified response and where it came from. */
export interface FetchedStaple extends VerifiedResponse {
  readonly responder: string;
  readonly issuer: Certificate;
  readonly issuerSource: IssuerSource;
}

/**
 * Gets a verified staple for a chain's leaf: find and confirm the issuer
 * (unless the caller already did), build the CertID, ask each responder URL
 * in turn until one gives a response that verifies. The transport and clock
 * are injected (DESIGN.md: the engine knows HTTP and time, and tests replace
 * both).
 */
export class OcspClient {
  private readonly transport: HttpTransport;
  private readonly clock: Clock;
  private readonly cache: VerificationCache | undefined;

  /**
   * `cache`: the process's cache of authentic responses (the controller's):
   * a fetched staple enters it, so re-reading it from the companion next
   * time costs no second signature check.
   */
  constructor(dependencies: { transport: HttpTransport; clock: Clock; cache?: VerificationCache }) {
    this.transport = dependencies.transport;
    this.clock = dependencies.clock;
    this.cache = dependencies.cache;
  }

  async fetchStaple(options: FetchOptions): Promise<FetchedStaple> {
    const { leaf } = options.chain;
    const issuer = options.issuer ?? await findChainIssuer(options.chain, {
      explicit: options.explicitIssuers ?? [],
      download: (url) => fetchCaIssuers(this.transport, url, options.timeoutMs),
    });
    const urls = options.urlOverride !== undefined && options.urlOverride !== "" ? [options.urlOverride] : leaf.ocspUrls;
    if (urls.length === 0) fail("NoResponderURL", `"${leaf.subject}" names no OCSP responder (no AIA OCSP URL); set a responder URL override`);
    let lastError: OcspError | undefined;
    for (const url of urls) {
      try {
        const response = await this.fetchFrom(url, leaf, issuer.certificate, options);
        return { ...response, responder: url, issuer: issuer.certificate, issuerSource: issuer.source };
      } catch (error) {
        if (!isOcspError(error)) throw error;
        lastError = error;
      }
    }
    throw lastError ?? new OcspError("NoResponderURL", "no responder URL to ask");
  }

  /**
   * The whole chain's staples (`chain: Full`), leaf first, one result per
   * element (see fetchChainStaples); issuers missing locally are downloaded
   * from AIA caIssuers through this client's transport.
   */
  fetchChainStaples(options: Omit<ChainFetchOptions, "download">): Promise<ChainFetchResult[]> {
    return fetchChainStaples((request) => this.fetchStaple(request), {
      ...options,
      download: (url) => fetchCaIssuers(this.transport, url, options.timeoutMs),
    });
  }

  private async fetchFrom(url: string, leaf: Certificate, issuer: Certificate, options: FetchOptions): Promise<VerifiedResponse> {
    const request = encodeRequest(certIdFor(leaf.serial, issuer, options.hashAlgorithm), { withNonce: options.withNonce ?? false });
    const der = await queryResponder(this.transport, {
      url,
      requestDer: request.der,
      ...(options.method === undefined ? {} : { method: options.method }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
    });
    return verifyResponse(der, {
      subject: leaf,
      issuer,
      at: this.clock.now(),
      ...(options.skewMs === undefined ? {} : { skewMs: options.skewMs }),
      ...(request.nonce === undefined ? {} : { nonce: request.nonce }),
      ...(this.cache === undefined ? {} : { cache: this.cache }),
    });
  }
}
