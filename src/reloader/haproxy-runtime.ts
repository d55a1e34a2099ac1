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
export function haproxyCommand(socketPath: string, command: string, timeoutMs = 10_000): Promise<string> {
  if (command.includes("\n")) return Promise.reject(new HaproxyRuntimeError("a runtime API command is one line"));
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    const chunks: Buffer[] = [];
    let size = 0;
    socket.setTimeout(timeoutMs, () => { socket.destroy(new HaproxyRuntimeError(`no answer on ${socketPath} within ${timeoutMs} ms`)); });
    socket.on("connect", () => { socket.write(`${command}\n`); });
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
 * checks the response itself and answers "OCSP Response updated!". Anything
 * else is a refusal, thrown with HAProxy's message.
 */
export async function setOcspResponse(socketPath: string, der: Uint8Array, timeoutMs?: number): Promise<void> {
  const reply = (await haproxyCommand(socketPath, `set ssl ocsp-response ${Buffer.from(der).toString("base64")}`, timeoutMs)).trim();
  if (!/^OCSP Response updated/i.test(reply)) throw new HaproxyRuntimeError(`HAProxy refused the staple: ${reply || "(empty answer)"}`);
}
