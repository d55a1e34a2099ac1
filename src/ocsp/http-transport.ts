/**
 * The engine's only door to the network. Injected, so tests can swap in a
 * transport that records requests, and so the operator can share one
 * connection pool across all fetches.
 *
 * Contract for implementations:
 * - follow at most `maxRedirects` redirects (3 by default);
 * - enforce `timeoutMs` over the whole exchange (connect, headers and body),
 *   so a responder that trickles bytes fails with `ResponderTimeout`;
 * - stop reading as soon as the body exceeds `maxBytes` (checked while
 *   streaming, and up front from Content-Length) with `ResponseTooLarge`;
 * - map connection failures (refused, reset, DNS, TLS) to `ResponderUnreachable`;
 * - return every HTTP status as is: the caller decides what a 500 means.
 * Failures are thrown as `OcspError`.
 */
export interface HttpTransport {
  send(request: HttpRequest): Promise<HttpResponse>;
}

export interface HttpRequest {
  readonly url: URL;
  readonly method: "GET" | "POST";
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Uint8Array;
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxRedirects?: number;
}

export interface HttpResponse {
  readonly status: number;
  /** The media type, lowercased, without parameters ("" when absent). */
  readonly contentType: string;
  readonly body: Uint8Array;
}

/** Limits applied to every fetch unless the caller overrides them. */
export const DEFAULT_HTTP_LIMITS = {
  timeoutMs: 10_000,
  maxBytes: 64 * 1024,
  maxRedirects: 3,
} as const;
