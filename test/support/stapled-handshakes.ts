/**
 * TLS handshakes that ask for a staple (status_request), for servers that
 * fetch their own staples (Apache's mod_ssl, nginx's `ssl_stapling on`): one
 * at a time, several held open at once (so a server with N processes serves
 * each on a different one), or repeated until one carries a staple.
 */
import { connect, type TLSSocket } from "node:tls";
import { setTimeout as sleep } from "node:timers/promises";
import { probeTls } from "../../src/probe/tls-probe.ts";
import { isOcspError } from "../../src/ocsp/errors.ts";
import { parseResponse } from "../../src/ocsp/response-parser.ts";

export interface Handshake {
  /** The stapled OCSP response as sent, if any (it may be an error response such as tryLater). */
  readonly staple?: Uint8Array;
  /** Milliseconds from connecting to the end of the handshake. */
  readonly ms: number;
}

/** What kind of staple it is: none, a successful response, a tryLater error response, or anything else. */
export function stapleStatus(staple: Uint8Array | undefined): "none" | "successful" | "tryLater" | "other" {
  if (staple === undefined) return "none";
  try {
    parseResponse(staple);
    return "successful";
  } catch (error) {
    return isOcspError(error) && error.code === "ResponderTryLater" ? "tryLater" : "other";
  }
}

/** One handshake to 127.0.0.1:port (SNI localhost) on a fresh connection, closed at once. */
export async function handshake(port: number, timeoutMs = 15_000): Promise<Handshake> {
  const started = Date.now();
  const served = await probeTls("127.0.0.1", port, "localhost", timeoutMs);
  return { ms: Date.now() - started, ...(served.staple === undefined ? {} : { staple: served.staple }) };
}

export interface HeldHandshakes {
  /** One per connection, in the order they were opened. */
  readonly handshakes: readonly Handshake[];
  /** Closes every connection. */
  close(): void;
}

/**
 * Opens `count` connections at once and keeps each open after its handshake
 * until every one has finished: against a prefork Apache with `count`
 * processes, each is served by a different process.
 */
export async function heldHandshakes(port: number, count: number, timeoutMs = 15_000): Promise<HeldHandshakes> {
  const sockets: TLSSocket[] = [];
  const close = (): void => { for (const socket of sockets) socket.destroy(); };
  try {
    const handshakes = await Promise.all(Array.from({ length: count }, () => new Promise<Handshake>((resolve, reject) => {
      const started = Date.now();
      let staple: Uint8Array | undefined;
      const socket = connect({ host: "127.0.0.1", port, servername: "localhost", requestOCSP: true, rejectUnauthorized: false });
      sockets.push(socket);
      const timer = setTimeout(() => { reject(new Error(`no TLS handshake within ${timeoutMs} ms`)); }, timeoutMs);
      // Node passes null (despite its types) when the server sent no staple.
      socket.on("OCSPResponse", (response: Buffer | null) => { if (response !== null && response.length > 0) staple = new Uint8Array(response); });
      socket.once("secureConnect", () => {
        clearTimeout(timer);
        resolve({ ms: Date.now() - started, ...(staple === undefined ? {} : { staple }) });
      });
      socket.once("error", (error: Error) => { clearTimeout(timer); reject(error); });
    })));
    return { handshakes, close };
  } catch (error) {
    close();
    throw error;
  }
}

export interface UntilStapled {
  /** The first staple with responseStatus successful. */
  readonly staple: Uint8Array;
  /** How many handshakes it took, the stapled one included. */
  readonly handshakes: number;
  /** Milliseconds from the first handshake's start to the end of the stapled one. */
  readonly ms: number;
}

/**
 * Repeats handshakes on fresh connections until one carries a successful
 * staple (the positive signal that a server's background fetch has landed);
 * fails after `timeoutMs`.
 */
export async function handshakeUntilStapled(port: number, timeoutMs = 15_000, intervalMs = 50): Promise<UntilStapled> {
  const started = Date.now();
  for (let count = 1; ; count++) {
    const { staple } = await handshake(port);
    if (staple !== undefined && stapleStatus(staple) === "successful") return { staple, handshakes: count, ms: Date.now() - started };
    if (Date.now() - started > timeoutMs) throw new Error(`no stapled handshake within ${timeoutMs} ms (${count} handshakes)`);
    await sleep(intervalMs);
  }
}
