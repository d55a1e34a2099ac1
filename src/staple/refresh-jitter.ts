import { createHash } from "node:crypto";

/**
 * A staple's own share of the refresh jitter, in [0, 1): the first 48 bits of
 * SHA-256 over the leaf's SHA-256 and the staple's thisUpdate. Drawn from the
 * staple rather than at random, so the same staple gets the same refresh time
 * in every process: a restarted controller computes the schedule it had, and
 * its StapleConfig status (`nextRefresh`) is not written again for nothing.
 * Staples issued together (one thisUpdate) for different certificates still
 * spread over the jitter window, as random draws would.
 */
export function refreshJitter(certificateSha256: string, thisUpdate: Date): number {
  const digest = createHash("sha256").update(`${certificateSha256} ${String(thisUpdate.getTime())}`).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}
