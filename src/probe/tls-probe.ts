import { isIP } from "node:net";
import { connect, type DetailedPeerCertificate } from "node:tls";
import { fail, OcspError } from "../ocsp/errors.ts";

/** What a TLS server sent: its certificate chain as served, and the stapled OCSP response if any. */
export interface ServedHandshake {
  readonly chain: readonly Uint8Array[];
  readonly staple?: Uint8Array;
  readonly protocol: string;
}

/**
 * Node's TLS client hands over only the leaf's OCSP response (the
 * `OCSPResponse` event, from OpenSSL's SSL_get_tlsext_status_ocsp_resp).
 * Under TLS 1.3 a server may send one response per certificate (RFC 8446
 * §4.4.2.1, what `chain: Full` staples are for), but the intermediates' ones
 * cannot be seen from here: `check` says so rather than report them missing.
 */
export const ONLY_LEAF_STAPLE_VISIBLE = true;

/**
 * Opens one TLS connection asking for status_request (RFC 6066 §8) and
 * records what came back. Trust is not checked here (`rejectUnauthorized:
 * false`): `check` answers "is a valid staple served for this chain?", which
 * also matters for servers behind a private CA.
 */
export function probeTls(host: string, port: number, servername: string | undefined, timeoutMs: number, signal?: AbortSignal): Promise<ServedHandshake> {
  return new Promise((resolve, reject) => {
    let staple: Uint8Array | undefined;
    const socket = connect({ host, port, requestOCSP: true, rejectUnauthorized: false, ...(servername === undefined ? {} : { servername }) });
    // An I/O timeout of this one handshake: a real timer, as the connection is real.
    const timer = setTimeout(() => { socket.destroy(); reject(tlsFailure(host, port, `no TLS handshake within ${timeoutMs} ms`)); }, timeoutMs);
    // The prober's own (injected) deadline, or its stop: the connection goes at once.
    signal?.addEventListener("abort", () => { clearTimeout(timer); socket.destroy(); reject(tlsFailure(host, port, "abandoned")); }, { once: true });
    // Node passes null (despite its types) when the server sent no staple.
    socket.on("OCSPResponse", (response: Buffer | null) => { if (response !== null && response.length > 0) staple = new Uint8Array(response); });
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const chain = servedChain(socket.getPeerCertificate(true));
      const protocol = socket.getProtocol() ?? "unknown";
      socket.end();
      resolve({ chain, protocol, ...(staple === undefined ? {} : { staple }) });
    });
    socket.once("error", (error: Error) => { clearTimeout(timer); socket.destroy(); reject(tlsFailure(host, port, error.message, error)); });
  });
}

/**
 * Node links the served chain through `issuerCertificate`. Whatever the types
 * say, a missing certificate is `{}` at runtime and a self-signed root links
 * to itself, hence Partial and the `seen` set.
 */
function servedChain(leaf: DetailedPeerCertificate): Uint8Array[] {
  const chain: Uint8Array[] = [];
  const seen = new Set<Partial<DetailedPeerCertificate>>();
  let current: Partial<DetailedPeerCertificate> = leaf;
  while (current.raw instanceof Buffer && !seen.has(current)) {
    seen.add(current);
    chain.push(new Uint8Array(current.raw));
    current = current.issuerCertificate ?? {};
  }
  return chain;
}

function tlsFailure(host: string, port: number, reason: string, cause?: unknown): OcspError {
  return new OcspError("TLSConnectFailed", `TLS connection to ${host}:${port} failed: ${reason}`, cause === undefined ? undefined : { cause });
}

/** "host:port", "[v6]:port" or "host" (port 443). SNI is sent for names, never for IP addresses (RFC 6066 §3). */
export function parseTarget(target: string): { host: string; port: number; defaultServername?: string } {
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::(\d{1,5}))?$/.exec(target);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3] ?? "443");
  if (host === undefined || port < 1 || port > 65535) return fail("BadInput", `"${target}" is not HOST:PORT`);
  return isIP(host) === 0 ? { host, port, defaultServername: host } : { host, port };
}
