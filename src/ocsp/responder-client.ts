import { USER_AGENT } from "../version.ts";
import { fail } from "./errors.ts";
import { DEFAULT_HTTP_LIMITS, type HttpTransport } from "./http-transport.ts";

export type RequestMethod = "Auto" | "GET" | "POST";

export interface ResponderQuery {
  readonly url: string;
  readonly requestDer: Uint8Array;
  readonly method?: RequestMethod;
  readonly timeoutMs?: number;
  readonly maxBytes?: number;
}

/** RFC 5019 §5: GET only while the URL-encoded base64 request fits in 255 bytes. */
const MAX_GET_REQUEST_LENGTH = 255;

/**
 * Sends one OCSP request over HTTP (RFC 6960 Appendix A) and returns the
 * response body. GET is preferred when the request is small, because it lets
 * CDNs in front of CA responders cache the answer; POST otherwise. Anything
 * but a 200 with an application/ocsp-response body is refused here, before
 * any DER is decoded.
 */
export async function queryResponder(transport: HttpTransport, query: ResponderQuery): Promise<Uint8Array> {
  const base = responderUrl(query.url);
  const encoded = encodeURIComponent(Buffer.from(query.requestDer).toString("base64"));
  const useGet = query.method === "GET" || ((query.method ?? "Auto") === "Auto" && encoded.length <= MAX_GET_REQUEST_LENGTH);
  const limits = { timeoutMs: query.timeoutMs ?? DEFAULT_HTTP_LIMITS.timeoutMs, maxBytes: query.maxBytes ?? DEFAULT_HTTP_LIMITS.maxBytes };
  const response = await transport.send(
    useGet
      ? { url: new URL(`${base.href.replace(/\/?$/, "/")}${encoded}`), method: "GET", headers: { "user-agent": USER_AGENT, accept: "application/ocsp-response" }, ...limits }
      : { url: base, method: "POST", headers: { "user-agent": USER_AGENT, accept: "application/ocsp-response", "content-type": "application/ocsp-request" }, body: query.requestDer, ...limits },
  );
  if (response.status !== 200) fail("ResponderHTTPError", `${base.host} answered HTTP ${response.status} to the OCSP ${useGet ? "GET" : "POST"}`);
  if (response.contentType !== "application/ocsp-response") {
    fail("BadContentType", `${base.host} answered with Content-Type "${response.contentType || "(none)"}", not application/ocsp-response`);
  }
  if (response.body.length === 0) fail("MalformedResponse", `${base.host} answered with an empty body`);
  return response.body;
}

/** Only http and https responders exist in practice (RFC 6960 Appendix A); anything else is a configuration error. */
export function responderUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail("NoResponderURL", `the responder URL "${url}" is not a valid URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") fail("NoResponderURL", `the responder URL "${url}" is not http or https`);
  return parsed;
}
