import { connect } from "node:net";

/** A refusal or failure of HAProxy's runtime API, with HAProxy's own words. */
export class HaproxyRuntimeError extends Error {
  override readonly name = "HaproxyRuntimeError";
}

const MAX_REPLY = 1024 * 1024;

/**
 * One command on HAProxy's runtime API (the `stats socket ... level admin`
 * unix socket), in its non-interactive mode: send one line, HAProxy answers
 * and closes the connection. Spoken with Node's net module, so the sidecar
 * image needs no socat.
 */
export function haproxyCommand(socketPath: string, command: string, timeoutMs = 10_000, payload?: string): Promise<string> {
  if (command.includes("\n")) return Promise.reject(new HaproxyRuntimeError("a runtime API command is one line"));
  if (payload?.includes("\n\n") === true) return Promise.reject(new HaproxyRuntimeError("a runtime API payload has no empty line"));
  // A payload follows the command after "<<" and ends with an empty line.
  const request = payload === undefined ? `${command}\n` : `${command} <<\n${payload}\n\n`;
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    let size = 0;
    // An I/O timeout of this one exchange, on the socket's real timer: no schedule depends on it (the loop's timers are the Scheduler's).
    socket.setTimeout(timeoutMs, () => { socket.destroy(new HaproxyRuntimeError(`no answer on ${socketPath} within ${timeoutMs} ms`)); });
    socket.on("connect", () => { socket.write(request); });
    socket.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REPLY) socket.destroy(new HaproxyRuntimeError(`the answer on ${socketPath} exceeds ${MAX_REPLY} bytes`));
      else chunks.push(chunk);
    });
    socket.on("error", (error: Error) => {
      reject(error instanceof HaproxyRuntimeError ? error : new HaproxyRuntimeError(`cannot talk to HAProxy on ${socketPath}: ${error.message}`, { cause: error }));
    });
    socket.on("end", () => { resolve(Buffer.concat(chunks).toString("utf8")); });
  });
}

/**
 * Replaces a staple in a running HAProxy without a reload (`set ssl
 * ocsp-response`): HAProxy finds the certificate by the response's CertID,
 * checks the response itself and answers "OCSP Response updated!".
 *
 * HAProxy keeps a place for a certificate's staple only if it loaded one at
 * start (`<crt>.ocsp`): for a certificate that started without one (its
 * companion did not exist yet) it answers that the CertID matches no
 * certificate. Then the staple goes in through a certificate transaction
 * (`set ssl cert <crt>.ocsp` and `commit ssl cert <crt>`, still no reload),
 * after which `set ssl ocsp-response` works too. Anything else is a refusal,
 * thrown with HAProxy's message.
 */
export async function setOcspResponse(socketPath: string, der: Uint8Array, crtPath: string, timeoutMs?: number): Promise<void> {
  const base64 = Buffer.from(der).toString("base64");
  const reply = (await haproxyCommand(socketPath, `set ssl ocsp-response ${base64}`, timeoutMs)).trim();
  if (/^OCSP Response updated/i.test(reply)) return;
  if (!/does not match any certificate/i.test(reply)) throw new HaproxyRuntimeError(`HAProxy refused the staple: ${reply || "(empty answer)"}`);
  const staged = (await haproxyCommand(socketPath, `set ssl cert ${crtPath}.ocsp`, timeoutMs, base64)).trim();
  if (!/^Transaction (created|updated)/i.test(staged)) {
    await haproxyCommand(socketPath, `abort ssl cert ${crtPath}`, timeoutMs).catch(() => undefined);
    throw new HaproxyRuntimeError(`HAProxy refused the staple for ${crtPath} (it started without one): ${staged || "(empty answer)"}`);
  }
  const committed = (await haproxyCommand(socketPath, `commit ssl cert ${crtPath}`, timeoutMs)).trim();
  if (!/Success!/i.test(committed)) throw new HaproxyRuntimeError(`HAProxy did not commit the staple for ${crtPath}: ${committed || "(empty answer)"}`);
}

/**
 * Takes a staple away from a running HAProxy without a reload. HAProxy 2.6
 * has no command for that: `set ssl ocsp-response` only replaces, and an
 * empty `set ssl cert <crt>.ocsp` is committed but changes nothing (tried on
 * 2.6.12). What does drop it is a certificate transaction that sets the
 * certificate itself: HAProxy clears the `.ocsp`, `.issuer` and `.sctl`
 * parts when it loads a new PEM, and commits only a PEM that has the private
 * key too. So `pem` is the certificate file HAProxy's `crt` names with its
 * key (see haproxy-cert-payload.ts); it goes to the admin socket and nowhere
 * else, and is never part of an error message.
 */
export async function dropOcspResponse(socketPath: string, crtPath: string, pem: string, timeoutMs?: number): Promise<void> {
  // "<crt>.crt" names the certificate part of <crt> whatever <crt> is called: HAProxy reads a trailing
  // ".crt" as that part, so a bare "tls.crt" would name a "tls" that does not exist.
  const staged = (await haproxyCommand(socketPath, `set ssl cert ${crtPath}.crt`, timeoutMs, pem)).trim();
  if (!/^Transaction (created|updated)/i.test(staged)) {
    await haproxyCommand(socketPath, `abort ssl cert ${crtPath}`, timeoutMs).catch(() => undefined);
    throw new HaproxyRuntimeError(`HAProxy refused the certificate transaction for ${crtPath}: ${staged || "(empty answer)"}`);
  }
  const committed = (await haproxyCommand(socketPath, `commit ssl cert ${crtPath}`, timeoutMs)).trim();
  if (!/Success!/i.test(committed)) {
    await haproxyCommand(socketPath, `abort ssl cert ${crtPath}`, timeoutMs).catch(() => undefined);
    throw new HaproxyRuntimeError(`HAProxy did not commit ${crtPath} without its staple: ${committed || "(empty answer)"}`);
  }
}
