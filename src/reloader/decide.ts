import { bytesEqual } from "../ocsp/bytes.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import type { ReloaderReason } from "../staple/reasons.ts";
import type { StapleCheck } from "./staple-check.ts";

/** The staple the server has from us, re-verified now. */
export interface Installed {
  readonly der: Uint8Array;
  readonly check: StapleCheck;
}

/** What to do for one pair; `keep` changes nothing. */
export type PairDecision =
  | { readonly action: "install"; readonly response: VerifiedResponse }
  | { readonly action: "withdraw"; readonly why: ReloaderReason | "StapleMissing" }
  | { readonly action: "keep" };

/**
 * Pure: the mounted staple (just verified), the installed one (re-verified)
 * and whether the server can drop a staple → what to do. The rules:
 * - only a staple that verified now is ever installed, and never one older
 *   (by thisUpdate) than a still-valid staple in place (DESIGN.md);
 * - a bad mounted staple changes nothing: the server keeps the last good one;
 * - a staple that is gone from the volume (the operator withdrew it) or that
 *   no longer verifies (expired, certificate rotated) is withdrawn, where the
 *   server can drop one (nginx by a reload, HAProxy by a certificate
 *   transaction); a server that cannot keeps it.
 */
export function decidePair(mounted: StapleCheck, installed: Installed | undefined, canWithdraw: boolean): PairDecision {
  const inPlace = installed?.check.kind === "verified" ? installed.check.response : undefined;
  if (mounted.kind === "verified") {
    if (inPlace === undefined) return { action: "install", response: mounted.response };
    if (bytesEqual(inPlace.der, mounted.response.der)) return { action: "keep" };
    if (inPlace.thisUpdate > mounted.response.thisUpdate) return { action: "keep" };
    return { action: "install", response: mounted.response };
  }
  if (installed === undefined || !canWithdraw) return { action: "keep" };
  if (mounted.kind === "missing") return { action: "withdraw", why: "StapleMissing" };
  if (installed.check.kind === "rejected") return { action: "withdraw", why: installed.check.reason };
  return { action: "keep" };
}
