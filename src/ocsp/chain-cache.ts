import { createHash } from "node:crypto";
import { Certificate } from "./certificate.ts";
import { readChain, type Chain } from "./chain.ts";
import { findChainIssuer, type FoundIssuer } from "./issuer.ts";
import { LruMap } from "./lru-map.ts";

/**
 * How many chains one process keeps parsed. A Secret is read in bursts (its
 * first reconcile, then again when its companion's event arrives a moment
 * later; at each refresh, hours apart), so the cache needs to cover a burst,
 * not the fleet: the fleet's memory stays the caches' DER, and a refresh
 * hours later parses once more (about a millisecond).
 */
export const DEFAULT_CHAIN_CACHE_ENTRIES = 2_000;
/** CA certificates kept decoded: a fleet has a few CAs, each in thousands of Secrets. */
const AUTHORITY_ENTRIES = 256;

/** Where a chain comes from: read only on a miss (a cache may rebuild the PEM text from DER on each read). */
export interface ChainSource {
  readonly tlsCrt: Uint8Array | string;
  readonly caCrt: Uint8Array | string | undefined;
}

/** A Secret's chain, parsed, and its leaf's issuer. */
export interface ReadChain {
  readonly chain: Chain;
  readonly issuer: FoundIssuer;
}

/**
 * Parses an unchanged tls.crt (and ca.crt) once, and finds its leaf's issuer
 * once (which checks the leaf's signature); a CA certificate is decoded once
 * for all the Secrets that carry it. Chains are keyed by the SHA-256 of the
 * bytes, so a renewed certificate is a new entry and can never be served
 * from an old one. An issuer downloaded from the AIA caIssuers URL is not
 * kept (the CA may publish another); errors are not kept (the Secret stays
 * bad until it changes, and a change is a new key anyway).
 */
export class ChainCache {
  private readonly chains: LruMap<string, ReadChain>;
  /** The CA certificates of every chain read, by the SHA-256 of their DER: decoded once, shared by all their Secrets. */
  private readonly authorities = new LruMap<string, Certificate>(AUTHORITY_ENTRIES, "ChainCache authorities");

  constructor(maxEntries = DEFAULT_CHAIN_CACHE_ENTRIES) {
    this.chains = new LruMap(maxEntries, "ChainCache");
  }

  get size(): number {
    return this.chains.size;
  }

  /**
   * `readChain` and `findChainIssuer`, or what they gave for the same bytes
   * before. `contentKey`: a digest of both files the caller already holds
   * (the Secret cache keeps one), so a hit reads and hashes nothing. Throws
   * the engine's coded errors.
   */
  async read(source: ChainSource, download?: (url: string) => Promise<Certificate[]>, contentKey?: string): Promise<ReadChain> {
    const key = contentKey ?? `${sha256(source.tlsCrt)} ${source.caCrt === undefined ? "-" : sha256(source.caCrt)}`;
    const known = this.chains.get(key);
    if (known !== undefined) return known;
    const chain = readChain(source.tlsCrt, source.caCrt, (der, label) => this.authority(der, label));
    const issuer = await findChainIssuer(chain, download === undefined ? {} : { download });
    const read = { chain, issuer };
    if (issuer.source !== "aia") this.chains.set(key, read);
    return read;
  }

  private authority(der: Uint8Array, label: string): Certificate {
    const key = sha256(der);
    const known = this.authorities.get(key);
    if (known !== undefined) return known;
    const certificate = Certificate.fromDer(der, label);
    this.authorities.set(key, certificate);
    return certificate;
  }
}

function sha256(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}
