import { createHash } from "node:crypto";
import { authenticateResponse, type AuthenticResponse, type ResponseParties } from "./authentic-response.ts";
import { LruMap } from "./lru-map.ts";

/**
 * How many certificates one process remembers a staple for, by default.
 * The controller re-verifies the staple in place of every Secret it manages
 * at each reconcile, and an LRU smaller than that working set would miss on
 * every pass, so the bound is well above the fleets we run (the soak's 1,000
 * Secrets, ten times over). An entry costs about 300 bytes (measured by
 * bench/cache-footprint.ts: the two digests, the times, the map's slot), so
 * a full cache holds about 3 MB, reached only after that many distinct
 * certificates.
 */
export const DEFAULT_VERIFICATION_CACHE_ENTRIES = 10_000;

/** The work a cache miss does; tests inject a counting one. */
export type Authenticate = (der: Uint8Array, parties: ResponseParties) => AuthenticResponse;

export interface VerificationCacheOptions {
  /** At most this many certificates are remembered; the least recently used goes first. */
  readonly maxEntries?: number;
  readonly authenticate?: Authenticate;
}

/** Bytes of SHA-256 in a key: 96 bits, 16 base64url characters. */
const KEY_BYTES = 12;

/** The staple last found authentic for one (subject, issuer). */
interface Entry {
  /** SHA-256 of the subject's and the issuer's digests and the response's bytes, base64url: a hit needs all three. */
  readonly fingerprint: string;
  readonly authentic: AuthenticResponse;
}

/**
 * Remembers which response is authentic for which certificate, so an
 * unchanged staple for an unchanged leaf is parsed and signature-checked
 * once per process however often it is looked at. Only the time-independent
 * half of verification is kept (see `authenticateResponse`); `verifyResponse`
 * applies the time checks to a remembered answer at every call, so a cached
 * staple that has since expired is refused exactly as an uncached one.
 *
 * A hit needs the same subject certificate, issuer certificate and response
 * bytes (compared by a SHA-256 over all three): the answer depends on them
 * and on nothing else. Entries are found by a shorter digest of the
 * (subject, issuer) pair; two pairs sharing one only displace each other,
 * as the full fingerprint still has to match. One staple is kept per
 * (subject, issuer), the last one that
 * verified: a staple replaced by a newer one is not asked about again, so
 * the cache grows with the number of certificates, not with the number of
 * refreshes. Refusals are not remembered, and do not displace the staple
 * kept: a bad new file must not cost the good one its entry.
 */
export class VerificationCache {
  /** By a digest of the subject's and the issuer's SHA-256 (KEY_BYTES of it). */
  private readonly entries: LruMap<string, Entry>;
  private readonly compute: Authenticate;

  constructor(options: VerificationCacheOptions = {}) {
    this.entries = new LruMap(options.maxEntries ?? DEFAULT_VERIFICATION_CACHE_ENTRIES, "VerificationCache");
    this.compute = options.authenticate ?? authenticateResponse;
  }

  get maxEntries(): number {
    return this.entries.maxEntries;
  }

  /** How many certificates have a staple remembered. */
  get size(): number {
    return this.entries.size;
  }

  /** `authenticateResponse(der, parties)`, computed once per (subject, issuer, bytes) while remembered. */
  authenticate(der: Uint8Array, parties: ResponseParties): AuthenticResponse {
    // Both digests are hex of a fixed length: the pair reads one way only.
    const pair = `${parties.subject.sha256} ${parties.issuer.sha256}`;
    const key = createHash("sha256").update(pair).digest().subarray(0, KEY_BYTES).toString("base64url");
    const fingerprint = createHash("sha256").update(pair).update(der).digest("base64url");
    const entry = this.entries.get(key);
    if (entry?.fingerprint === fingerprint) return entry.authentic;
    const authentic = this.compute(der, parties);
    this.entries.set(key, { fingerprint, authentic });
    return authentic;
  }
}
