import { ApiException } from "@kubernetes/client-node";

/**
 * A write the API server refused for good, not because something changed
 * meanwhile: RBAC or an admission policy (403), or validation (422). Its
 * message, from the Status the server sent, names the rule; otherwise undefined.
 */
export function writeRefusal(error: unknown): string | undefined {
  if (!(error instanceof ApiException) || (error.code !== 403 && error.code !== 422)) return undefined;
  return `the API server refused the write (${error.code}): ${statusMessage(error.body) ?? "no reason given"}`;
}

/** The `message` of a metav1.Status body, which client-node hands over as a string or as parsed JSON. */
function statusMessage(body: unknown): string | undefined {
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body.slice(0, 500);
    }
  }
  const message = (parsed as { message?: unknown } | null)?.message;
  return typeof message === "string" ? message : undefined;
}
