import { createHash } from "node:crypto";

/**
 * What a Secret's refresh schedule is computed from — the leaf certificate
 * and the owning config's spec (its uid and generation) — as a short token
 * that compares equal exactly when they are the same. It is kept per Secret
 * (SecretState.basis), so it is a digest: 16 base64url characters (96 bits
 * of SHA-256, about 40 bytes) instead of the three values spelled out (about
 * 110 characters, and the leaf's digest kept alive after the chain cache has
 * let the certificate go). A collision between two bases of one Secret
 * (2^-96 per change) would only keep its schedule.
 */
export function scheduleBasis(leafSha256: string, configUid: string, generation: number): string {
  const digest = createHash("sha256").update(`${leafSha256} ${configUid} ${String(generation)}`).digest();
  return digest.subarray(0, 12).toString("base64url");
}
