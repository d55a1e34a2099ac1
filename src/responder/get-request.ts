import { parseRequest, type ParsedRequest } from "../ocsp/request-parser.ts";

/** A base64 request longer than this many path segments is not looked for (each try is a decode). */
const MAX_SEGMENTS = 16;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The OCSPRequest in an RFC 5019 GET path: `{any prefix}/{url-encoded base64
 * of the DER}`. Base64 contains `/`, which clients should send as `%2F`
 * (nginx does) but many send as is, so the request is the shortest run of
 * trailing segments that decodes to an OCSPRequest: whatever path prefix the
 * server is configured with stays out of it. `%2B` and a raw `+` both mean
 * `+`; a space (a `+` some client form-decoded) is read as `+` too.
 */
export function requestFromGetPath(url: string): ParsedRequest | undefined {
  const path = url.split("?")[0] ?? "";
  const segments = path.split("/");
  for (let start = segments.length - 1; start >= Math.max(1, segments.length - MAX_SEGMENTS); start--) {
    const request = decodeCandidate(segments.slice(start).join("/"));
    if (request !== undefined) return request;
  }
  return undefined;
}

function decodeCandidate(encoded: string): ParsedRequest | undefined {
  let text: string;
  try {
    text = decodeURIComponent(encoded).replaceAll(" ", "+");
  } catch {
    return undefined;
  }
  if (!BASE64.test(text)) return undefined;
  return parseRequest(Buffer.from(text, "base64"));
}
