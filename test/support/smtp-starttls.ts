/**
 * SMTP up to STARTTLS by hand (RFC 3207), for tests against a real mail
 * server: the reply to STARTTLS itself (Exim answers "454 TLS currently
 * unavailable" when its TLS set-up fails), and Node's TLS client on the
 * upgraded socket, which reads the staple from the handshake.
 */
import assert from "node:assert/strict";
import { connect as connectTcp, type Socket } from "node:net";
import { connect as connectTls, type ConnectionOptions } from "node:tls";

/**
 * Node's TLS client after STARTTLS, asking for a staple and verifying the
 * chain against `rootPem`. Resolves with the raw OCSP response (Node reports
 * only the leaf's, at any TLS version), or undefined when the server sent none.
 * `minVersion`/`maxVersion` pin the handshake to one TLS version.
 */
export async function stapleOverStarttls(port: number, rootPem: string, options: Pick<ConnectionOptions, "minVersion" | "maxVersion"> = {}): Promise<Buffer | undefined> {
  const socket = connectTcp(port, "127.0.0.1");
  socket.setTimeout(10_000, () => socket.destroy(new Error("SMTP timed out")));
  try {
    const reply = await sayStarttls(socket);
    assert.ok(reply.startsWith("220"), `STARTTLS refused: ${JSON.stringify(reply)}`);
    return await new Promise<Buffer | undefined>((resolve, reject) => {
      let staple: Buffer | undefined;
      const tls = connectTls({ socket, servername: "localhost", requestOCSP: true, ca: rootPem, ...options });
      // Node passes null when the server sent no staple.
      tls.once("OCSPResponse", (response: Buffer | null) => { staple = response ?? undefined; });
      tls.once("secureConnect", () => {
        tls.end("QUIT\r\n");
        resolve(staple);
      });
      tls.on("error", reject);
    });
  } finally {
    socket.destroy();
  }
}

/** EHLO, then STARTTLS: resolves with the server's reply to STARTTLS, e.g. "220 TLS go ahead\r\n". Sends QUIT if it was refused. */
export async function starttlsReply(port: number): Promise<string> {
  const socket = connectTcp(port, "127.0.0.1");
  socket.setTimeout(10_000, () => socket.destroy(new Error("SMTP timed out")));
  try {
    const reply = await sayStarttls(socket);
    // Whatever happens to the connection now no longer matters.
    socket.on("error", () => undefined);
    if (!reply.startsWith("220")) socket.end("QUIT\r\n");
    return reply;
  } finally {
    socket.destroy();
  }
}

/** Reads the greeting, says EHLO (checking STARTTLS is offered) and STARTTLS; leaves the socket to the caller with the reply to STARTTLS. */
async function sayStarttls(socket: Socket): Promise<string> {
  const reader = smtpReplies(socket);
  try {
    await expectReply(reader, "220");
    socket.write("EHLO ocsp-stapler.test\r\n");
    assert.match(await expectReply(reader, "250"), /^250[- ]STARTTLS$/m, "the server does not offer STARTTLS");
    socket.write("STARTTLS\r\n");
    return await reader.next();
  } finally {
    reader.detach();
  }
}

interface ReplyReader {
  /** The next complete (possibly multi-line) reply. */
  next(): Promise<string>;
  /** Stops reading, leaving the socket to the TLS client. */
  detach(): void;
}

function smtpReplies(socket: Socket): ReplyReader {
  let buffered = "";
  let waiting: { resolve: (reply: string) => void; reject: (error: Error) => void } | undefined;
  const complete = (): string | undefined => {
    // A reply ends with a line "NNN text" (space, not hyphen, after the code).
    const end = /^\d{3}(?: [^\r\n]*)?\r\n/m.exec(buffered);
    if (end === null) return undefined;
    const length = end.index + end[0].length;
    const reply = buffered.slice(0, length);
    buffered = buffered.slice(length);
    return reply;
  };
  const pump = (): void => {
    if (waiting === undefined) return;
    const reply = complete();
    if (reply !== undefined) {
      const { resolve } = waiting;
      waiting = undefined;
      resolve(reply);
    }
  };
  const onData = (chunk: Buffer): void => { buffered += chunk.toString("latin1"); pump(); };
  const onError = (error: Error): void => { waiting?.reject(error); waiting = undefined; };
  const onClose = (): void => { onError(new Error(`connection closed; unparsed: ${JSON.stringify(buffered)}`)); };
  socket.on("data", onData);
  socket.on("error", onError);
  socket.on("close", onClose);
  return {
    next: () => new Promise((resolve, reject) => {
      waiting = { resolve, reject };
      pump();
    }),
    detach: () => {
      socket.off("data", onData);
      socket.off("error", onError);
      socket.off("close", onClose);
    },
  };
}

async function expectReply(reader: ReplyReader, code: string): Promise<string> {
  const reply = await reader.next();
  assert.ok(reply.startsWith(code), `expected ${code}, got ${JSON.stringify(reply)}`);
  return reply;
}
