import type { IncomingHttpHeaders } from "node:http";
import type { ServableStaple } from "./servable-staple.ts";

/**
 * RFC 5019 §6.2's headers for a staple served at `nowMs`: HTTP caches
 * (a CDN in front, a forward proxy) may keep it until it stops being
 * servable, and no longer. `Expires` and `max-age` end at the staple's
 * usable end — nextUpdate, or earlier when the certificate or a delegated
 * signer ends first — so no cache serves what this responder no longer would.
 */
export function cachingHeaders(staple: ServableStaple, nowMs: number): Record<string, string> {
  const maxAge = Math.max(0, Math.floor((staple.usableUntilMs - nowMs) / 1000));
  return {
    "cache-control": `max-age=${maxAge}, public, no-transform, must-revalidate`,
    "last-modified": new Date(staple.thisUpdateMs).toUTCString(),
    expires: new Date(staple.usableUntilMs).toUTCString(),
    etag: staple.etag,
  };
}

/** Error answers (unauthorized, malformedRequest) are about this moment: never cached. */
export const UNCACHEABLE = { "cache-control": "no-store" } as const;

/**
 * Whether a conditional GET can be answered `304 Not Modified` (RFC 9110
 * §13.1): If-None-Match, when present, decides alone (weak comparison, `*`
 * matches); otherwise If-Modified-Since at or after thisUpdate (HTTP dates
 * have whole seconds).
 */
export function notModified(headers: IncomingHttpHeaders, staple: ServableStaple): boolean {
  const ifNoneMatch = headers["if-none-match"];
  if (ifNoneMatch !== undefined) {
    return ifNoneMatch.split(",").map((tag) => tag.trim().replace(/^W\//, "")).some((tag) => tag === "*" || tag === staple.etag);
  }
  const ifModifiedSince = headers["if-modified-since"];
  if (ifModifiedSince === undefined) return false;
  const since = Date.parse(ifModifiedSince);
  return !Number.isNaN(since) && Math.floor(staple.thisUpdateMs / 1000) * 1000 <= since;
}
