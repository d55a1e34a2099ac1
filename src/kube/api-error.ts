import { ApiException } from "@kubernetes/client-node";

/**
 * What went wrong with a call to the API server, in one line a user can act
 * on: the HTTP status and the server's own Status message, or the network
 * cause behind undici's bare "fetch failed" (connect ECONNREFUSED
 * 127.0.0.1:6443, a TLS error, a DNS failure). Never the body of anything
 * but a Status: an error while reading a Secret must not log the Secret.
 */
export function describeApiError(error: unknown): string {
  if (error instanceof ApiException) return `HTTP ${String(error.code)}${statusMessage(error.body)}`;
  const code = statusCodeOf(error);
  if (code !== undefined) return `HTTP ${String(code)}`;
  if (isTimeout(error)) return "no answer in time";
  return causeChain(error);
}

/** How many seconds a 429 or 503 asked us to wait (Retry-After), if it said. */
export function retryAfterMs(error: unknown): number | undefined {
  if (!(error instanceof ApiException)) return undefined;
  const headers = error.headers as Record<string, string | undefined> | undefined;
  const seconds = Number(headers?.["retry-after"] ?? Number.NaN);
  return Number.isFinite(seconds) && seconds >= 0 ? Math.min(seconds, 600) * 1000 : undefined;
}

/** The HTTP status an API or watch error carries (client-node sets `code` or `statusCode`). */
export function statusCodeOf(value: unknown): number | undefined {
  if (value instanceof ApiException) return value.code;
  if (typeof value !== "object" || value === null || value instanceof DOMException) return undefined;
  const record = value as { code?: unknown; statusCode?: unknown };
  const code = record.statusCode ?? record.code;
  return typeof code === "number" && code >= 100 && code <= 599 ? code : undefined;
}

/**
 * client-node's watch aborts a connection that carried nothing for 30 s with
 * a DOMException "TimeoutError" (code 23, which is not an HTTP status).
 */
export function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}

/** The API server's Status message (`secrets is forbidden: User … cannot list …`). */
function statusMessage(body: unknown): string {
  let status: unknown = body;
  if (typeof body === "string") {
    try {
      status = JSON.parse(body);
    } catch {
      return "";
    }
  }
  const { kind, message } = (status ?? {}) as { kind?: unknown; message?: unknown };
  return kind === "Status" && typeof message === "string" && message !== "" ? `: ${message}` : "";
}

/** "fetch failed: connect ECONNREFUSED 127.0.0.1:6443": each cause's message, outermost first. */
function causeChain(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current !== undefined && current !== null && parts.length < 4; current = (current as { cause?: unknown }).cause) {
    const message = current instanceof Error ? current.message.split("\n")[0] ?? "" : typeof current === "string" ? current : "";
    if (message !== "" && !parts.includes(message)) parts.push(message);
    if (!(current instanceof Error)) break;
  }
  return parts.length === 0 ? String(error) : parts.join(": ");
}
