import { createHash } from "node:crypto";
import { authenticateResponse, type AuthenticResponse, type ResponseParties } from "./authentic-response.ts";
import { LruMap } from "./lru-map.ts";

/**
 * How many certificates one process remembers a staple for, by default.
 * The controller re-verifies the staple in place of every Secret it manages
 * at each reconcile, and an LRU smaller than that working set would miss on
 * every pass, so the bound is well above the fleets we run (the soak's 1,000
 * Secrets, ten times over). An entry costs about 1.3 KB (measured: the key,
 * the dates, the status and the signer's name), so a full cache holds about
 * 13 MB, reached only after that many distinct certificates.
 */
export const DEFAULT_VERIFICATION_CACHE_ENTRIES = 10_000;

/** The work a cache miss does; tests inject a counting one. */
export type Authenticate = (der: Uint8Array, parties: ResponseParties) => AuthenticResponse;

export interface VerificationCacheOptions {
  /** At most this many certificates are remembered; the least recently used goes first. */
  readonly maxEntries?: number;
  readonly authenticate?: Authenticate;
}

/** The staple last found authentic for one (subject, issuer). */
interface Entry {
  readonly responseSha256: string;
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
 * bytes (compared by SHA-256): the answer depends on all three and on
 * nothing else. One staple is kept per (subject, issuer), the last one that
 * verified: a staple replaced by a newer one is not asked about again, so
 * the cache grows with the number of certificates, not with the number of
 * refreshes. Refusals are not remembered, and do not displace the staple
 * kept: a bad new file must not cost the good one its entry.
 */
export class VerificationCache {
  /** By subject and issuer. */
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
    const key = `${parties.subject.sha256} ${parties.issuer.sha256}`;
    const responseSha256 = createHash("sha256").update(der).digest("hex");
    const entry = this.entries.get(key);
    if (entry?.responseSha256 === responseSha256) return entry.authentic;
    const authentic = this.compute(der, parties);
    this.entries.set(key, { responseSha256, authentic });
    return authentic;
  }
}
