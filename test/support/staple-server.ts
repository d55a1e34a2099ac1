import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";

/** A TLS endpoint for probes: Node's TLS server, with a staple the test sets (or none). */
export interface StapleServer {
  port: number;
  /** 127.0.0.1:port, as spec.probe.endpoints takes it. */
  address: string;
  /** What the next handshakes staple: DER, or nothing. */
  staple: Uint8Array | undefined;
  close(): Promise<void>;
}

/**
 * A TLS server on 127.0.0.1 serving `certPem` (leaf first) and stapling
 * whatever `staple` holds at each handshake that asks (Node's `OCSPRequest`
 * event, OpenSSL's status callback): a server whose reloader is stopped is
 * one whose `staple` the test leaves alone.
 */
export async function startStapleServer(certPem: string, keyPem: string): Promise<StapleServer> {
  const sockets = new Set<Socket>();
  const server = createTlsServer({ cert: certPem, key: keyPem });
  const handle: StapleServer = {
    port: 0, address: "", staple: undefined,
    close: () => closeServer(server, sockets),
  };
  server.on("OCSPRequest", (_certificate: Buffer, _issuer: Buffer, done: (error: Error | null, response?: Buffer) => void) => {
    // Node's types want a Buffer; without one, no staple is sent.
    if (handle.staple === undefined) done(null);
    else done(null, Buffer.from(handle.staple));
  });
  server.on("connection", (socket: Socket) => { sockets.add(socket); socket.once("close", () => sockets.delete(socket)); });
  return listen(server, handle);
}

/** An endpoint that accepts connections and never says a word: a hung server, or a half-dead load balancer. */
export async function startSilentServer(): Promise<{ port: number; address: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => { sockets.add(socket); socket.once("close", () => sockets.delete(socket)); });
  return listen(server, { port: 0, address: "", close: () => closeServer(server, sockets) });
}

async function listen<T extends { port: number; address: string }>(server: Server, handle: T): Promise<T> {
  await new Promise<void>((resolve) => { server.listen(0, "127.0.0.1", resolve); });
  handle.port = (server.address() as AddressInfo).port;
  handle.address = `127.0.0.1:${String(handle.port)}`;
  return handle;
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => { server.close(() => { resolve(); }); });
}
