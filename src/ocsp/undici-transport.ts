import { EnvHttpProxyAgent, interceptors, type Dispatcher } from "undici";
import { fail, messageOf, OcspError } from "./errors.ts";
import { DEFAULT_HTTP_LIMITS, type HttpRequest, type HttpResponse, type HttpTransport } from "./http-transport.ts";

export interface UndiciTransportOptions {
  /**
   * The connection pool to send through; `close()` closes it. Defaults to an
   * `EnvHttpProxyAgent`, so HTTP(S)_PROXY and NO_PROXY apply. Tests pass
   * their own (a connector that never connects, say).
   */
  readonly dispatcher?: Dispatcher;
}

/**
 * The production `HttpTransport`, on undici.
 *
 * Why undici's `request()` rather than `fetch`: it hands over the raw body
 * stream, so a body can be capped while it streams, and the raw error codes,
 * so "refused", "reset" and "timed out" stay distinguishable.
 *
 * Why one dispatcher for the transport's lifetime: every fetch shares one
 * keep-alive pool. HTTP(S)_PROXY are read when the transport is constructed;
 * undici re-reads NO_PROXY on each request. Note that undici does not exempt
 * localhost or 127.0.0.1 from the proxy unless NO_PROXY names them.
 *
 * Why our own deadline instead of undici's timeouts: undici's headers and
 * body timeouts measure idle gaps, so a responder trickling a byte at a time
 * would never trip them. One timer over the whole exchange does.
 *
 * Redirects are followed by undici's redirect interceptor; one beyond
 * `maxRedirects` is a `ResponderHTTPError`, because a responder that keeps
 * redirecting is misconfigured, not merely slow.
 */
export class UndiciTransport implements HttpTransport {
  readonly #dispatcher: Dispatcher;

  constructor(options: UndiciTransportOptions = {}) {
    const base = options.dispatcher ?? new EnvHttpProxyAgent();
    // No throwOnMaxRedirect: at the limit undici hands back the last 3xx, and
    // `#exchange` reports it, which also covers maxRedirects 0 (where the
    // interceptor steps aside entirely).
    this.#dispatcher = base.compose(interceptors.redirect());
  }

  async send(request: HttpRequest): Promise<HttpResponse> {
    const deadline = new AbortController();
    const timer = setTimeout(() => {
      deadline.abort(new Error(`deadline of ${request.timeoutMs} ms exceeded`));
    }, request.timeoutMs);
    try {
      return await this.#exchange(request, deadline.signal);
    } catch (error) {
      throw toOcspError(error, request, deadline.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes the pooled connections; in-flight requests finish first. */
  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  /** Closes the pooled connections at once: in-flight requests fail (a shutdown that cannot wait). */
  async destroy(): Promise<void> {
    await this.#dispatcher.destroy();
  }

  async #exchange(request: HttpRequest, signal: AbortSignal): Promise<HttpResponse> {
    const response = await this.#dispatcher.request(requestOptions(request, signal));
    const { statusCode, headers, body } = response;
    try {
      if (isRedirect(statusCode) && headers.location !== undefined) {
        fail("ResponderHTTPError", `${request.url.host}: too many redirects (more than ${maxRedirects(request)})`);
      }
      rejectDeclaredLength(headers["content-length"], request);
      const bytes = await readCapped(body, request);
      return { status: statusCode, contentType: mediaType(headers["content-type"]), body: bytes };
    } finally {
      discard(body);
    }
  }
}

/**
 * Drops the rest of a body and its connection. undici reports destroying an
 * unread body as an 'error' event, which would be uncaught without a listener.
 */
function discard(body: Dispatcher.ResponseData["body"]): void {
  if (body.destroyed) return;
  body.on("error", () => undefined);
  body.destroy();
}

/**
 * `maxRedirections` is read per request by the redirect interceptor
 * (undici 8 removed it from the core request options, so its type is absent).
 */
type RedirectingRequestOptions = Dispatcher.RequestOptions & { readonly maxRedirections: number };

function requestOptions(request: HttpRequest, signal: AbortSignal): RedirectingRequestOptions {
  return {
    origin: request.url.origin,
    path: `${request.url.pathname}${request.url.search}`,
    method: request.method,
    headers: { ...request.headers },
    body: request.body ?? null,
    signal,
    maxRedirections: maxRedirects(request),
  };
}

function maxRedirects(request: HttpRequest): number {
  return request.maxRedirects ?? DEFAULT_HTTP_LIMITS.maxRedirects;
}

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([300, 301, 302, 303, 307, 308]);

function isRedirect(status: number): boolean {
  return REDIRECT_STATUSES.has(status);
}

function rejectDeclaredLength(contentLength: string | string[] | undefined, request: HttpRequest): void {
  const declared = Number(Array.isArray(contentLength) ? contentLength[0] : contentLength);
  if (Number.isFinite(declared) && declared > request.maxBytes) {
    fail("ResponseTooLarge", `${request.url.host}: Content-Length ${declared} exceeds the ${request.maxBytes}-byte limit`);
  }
}

/**
 * Counts while streaming and stops at the first chunk past the limit, so a
 * hostile responder costs at most `maxBytes` plus one chunk of memory.
 */
async function readCapped(body: AsyncIterable<unknown>, request: HttpRequest): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    if (!(chunk instanceof Uint8Array)) throw new TypeError("undici yielded a non-binary body chunk");
    total += chunk.byteLength;
    if (total > request.maxBytes) {
      fail("ResponseTooLarge", `${request.url.host}: body exceeds the ${request.maxBytes}-byte limit`);
    }
    chunks.push(chunk);
  }
  return concat(chunks, total);
}

/** A copy with its own ArrayBuffer: parsers that take `.buffer` must not see pooled memory. */
function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** "Application/OCSP-Response; charset=x" → "application/ocsp-response". */
function mediaType(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return (value ?? "").split(";", 1)[0]?.trim().toLowerCase() ?? "";
}

const TIMEOUT_CODES: ReadonlySet<string> = new Set([
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ETIMEDOUT",
]);

/** Everything that is not already an `OcspError` becomes one, with the original as `cause`. */
function toOcspError(error: unknown, request: HttpRequest, deadlinePassed: boolean): OcspError {
  if (error instanceof OcspError) return error;
  const host = request.url.host;
  const code = errorCode(error);
  if (deadlinePassed || TIMEOUT_CODES.has(code)) {
    return new OcspError("ResponderTimeout", `${host}: no complete response within ${request.timeoutMs} ms`, {
      cause: error,
    });
  }
  if (isRedirectFailure(error)) {
    return new OcspError("ResponderHTTPError", `${host}: bad redirect: ${describe(error)}`, { cause: error });
  }
  return new OcspError("ResponderUnreachable", `cannot reach ${host}: ${describe(error)}`, { cause: error });
}

/** A redirect loop, or a Location header undici cannot parse. */
function isRedirectFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = errorCode(error);
  return (
    code === "UND_ERR_REDIRECT_MAX" ||
    code === "ERR_INVALID_URL" ||
    (code === "UND_ERR_INVALID_ARG" && /redirect/i.test(error.message))
  );
}

function describe(error: unknown): string {
  const code = errorCode(error);
  const message = messageOf(error);
  if (code === "") return message;
  return message.includes(code) ? message : `${code} ${message}`;
}

/**
 * The system or undici code (ECONNREFUSED, UND_ERR_SOCKET…), looking through
 * the wrappers Node puts around it: an AggregateError when it tried several
 * addresses, or a `cause`.
 */
function errorCode(error: unknown): string {
  if (!(error instanceof Error)) return "";
  if ("code" in error && typeof error.code === "string") return error.code;
  if (error instanceof AggregateError) {
    const first: unknown = error.errors[0];
    return errorCode(first);
  }
  return errorCode(error.cause);
}
