/**
 * A real `openssl ocsp` responder for end-to-end tests, answering from an
 * index the test controls (see `TestCa.writeIndex`).
 *
 * What OpenSSL 3.0.19 (the version here) does, verified by experiment:
 *
 * - It serves one connection at a time, answers HTTP/1.0 and closes the
 *   connection, so clients never get a kept-alive connection.
 * - GET works (RFC 6960 Appendix A): the path after the single leading "/"
 *   is percent-decoded, then base64-decoded. Raw base64 and fully
 *   `encodeURIComponent`-encoded paths (%2B, %2F, %3D, upper or lower case)
 *   both work. Anything before the base64 (`/ocsp/<b64>`) or a query string
 *   gets "400 Bad Request"; POST ignores the path. `GET /` is a liveness check
 *   answered "200 OK". Every error status is followed on the same connection
 *   by a second response (200 with an OCSP `malformedRequest`), a 3.0 quirk.
 * - The index is re-read when its inode, ctime or mtime (whole seconds)
 *   changes, but the check runs just before it waits for the next
 *   connection: after a rewrite, one more request is answered from the old
 *   index. `reloadIndex()` spends that request on a liveness check.
 * - A connection that closes without sending a byte makes it spin forever
 *   (it re-reads the dead socket and never accepts again), and a silent open
 *   connection blocks everyone; `-timeout` and `-multi` do not help. So the
 *   responder sits behind a small proxy that opens the upstream connection
 *   only once a complete request head has arrived.
 * - `-port` takes only a number and binds every interface (`[::]`), so the
 *   upstream port is not loopback-only; the proxy in front of it is.
 * - Without `-ndays`/`-nmin` responses carry no nextUpdate.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { freePort } from "./free-port.ts";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { writeIndexFile, type IndexEntry, type Issued, type TestCa } from "./pki.ts";
import { OPENSSL, opensslEnv } from "./pki-openssl.ts";

export interface OpensslResponderOptions {
  /** The issuer whose certificates it answers for (`-CA`). */
  readonly ca: TestCa;
  readonly indexPath: string;
  /** A delegated responder (`-rsigner/-rkey`). Default: the CA signs its own responses. */
  readonly signer?: Issued;
  /** The port of the URL; default a free one. */
  readonly port?: number;
  /** `-ndays`: nextUpdate this many days after thisUpdate. */
  readonly nextUpdateDays?: number;
  /** `-nmin`: nextUpdate this many minutes after thisUpdate (wins over days). */
  readonly nmin?: number;
  /** Appended to the command line, e.g. `["-resp_no_certs"]`, `["-rmd", "sha384"]`, `["-rsigopt", "rsa_padding_mode:pss"]`. */
  readonly extraArgs?: readonly string[];
}

/** Options that `restart` may change, e.g. to roll the responder's key mid-test; `undefined` drops one (`nextUpdateDays: undefined`: no nextUpdate). */
export type ResponderChanges = Partial<Pick<OpensslResponderOptions, "indexPath">> & { [K in "signer" | "nextUpdateDays" | "nmin" | "extraArgs"]?: OpensslResponderOptions[K] | undefined };

export interface SeenRequest {
  readonly method: string;
  /** The request target as sent, e.g. `/` or `/MEQwQj...%3D`. */
  readonly target: string;
}

export interface OpensslResponder {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  readonly port: number;
  /** Every request that reached the responder, in order (liveness checks excluded). */
  readonly requests: readonly SeenRequest[];
  /** Stops the responder and frees the port; afterwards connections are refused. */
  stop(): Promise<void>;
  /**
   * Replaces the openssl process, optionally with changed options, keeping
   * the URL; connections arriving meanwhile are dropped, as by a real restart.
   */
  restart(changes?: ResponderChanges): Promise<void>;
  /** Makes openssl load a rewritten index before it answers the next request. */
  reloadIndex(): Promise<void>;
  /** Writes the index (`writeIndexFile`) and reloads it. */
  updateIndex(entries: readonly IndexEntry[]): Promise<void>;
  /** Everything openssl wrote to stdout and stderr, for failure messages. */
  log(): Promise<string>;
}

/** Starts `openssl ocsp` behind a loopback proxy; resolves once it answers. */
export async function startOpensslResponder(options: OpensslResponderOptions): Promise<OpensslResponder> {
  let current = options;
  let upstream = await spawnReady(current);
  const requests: SeenRequest[] = [];
  const guard = await listenGuard(options.port ?? 0, () => upstream.port, requests).catch(async (error: unknown) => {
    await upstream.kill();
    throw error;
  });
  const port = guard.port;
  let stopped = false;
  const reloadIndex = async (): Promise<void> => {
    if (!(await livenessCheck(upstream.port))) {
      throw new Error(`openssl ocsp did not answer a liveness check:\n${await upstream.log()}`);
    }
  };
  return {
    url: `http://127.0.0.1:${String(port)}/`,
    port,
    requests,
    stop: async () => {
      stopped = true;
      await Promise.all([upstream.kill(), guard.close()]);
    },
    restart: async (changes = {}) => {
      if (stopped) {
        throw new Error("restart after stop: start a new responder instead");
      }
      await upstream.kill();
      // A change given as undefined drops the option (omitted from the command line).
      current = Object.fromEntries(Object.entries({ ...current, ...changes }).filter(([, value]) => value !== undefined)) as unknown as OpensslResponderOptions;
      upstream = await spawnReady(current);
    },
    reloadIndex,
    updateIndex: async (entries) => {
      await writeIndexFile(current.indexPath, entries);
      await reloadIndex();
    },
    log: () => upstream.log(),
  };
}


// ---------------------------------------------------------------------------
// The openssl process

interface Upstream {
  readonly port: number;
  kill(): Promise<void>;
  log(): Promise<string>;
}

const live = new Set<ChildProcess>();

/** Spawns openssl on a free port and waits until it answers; a lost race for the port is retried. */
async function spawnReady(options: OpensslResponderOptions): Promise<Upstream> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const logPath = join(options.ca.dir, `openssl-ocsp-${String(port)}.log`);
    const child = spawnOpenssl(responderArgs(options, port), logPath);
    const upstream: Upstream = { port, kill: () => killChild(child), log: () => readFile(logPath, "utf8").catch(() => "") };
    const failure = await waitReady(child, port, logPath);
    if (failure === undefined) {
      child.unref();
      return upstream;
    }
    await upstream.kill();
    if (!/Address already in use/.test(failure) || attempt >= 5) {
      throw new Error(`openssl ocsp did not start: ${failure}`);
    }
  }
}

function responderArgs(options: OpensslResponderOptions, port: number): string[] {
  const signer = options.signer ?? options.ca;
  return [
    "ocsp",
    "-index", options.indexPath,
    "-CA", options.ca.certPath,
    "-rsigner", signer.certPath,
    "-rkey", signer.keyPath,
    "-port", String(port),
    "-ignore_err",
    ...(options.nextUpdateDays === undefined ? [] : ["-ndays", String(options.nextUpdateDays)]),
    ...(options.nmin === undefined ? [] : ["-nmin", String(options.nmin)]),
    ...(options.extraArgs ?? []),
  ];
}

/** Output goes to a file, not a pipe, so a forgotten responder cannot keep the test process alive. */
function spawnOpenssl(args: readonly string[], logPath: string): ChildProcess {
  const fd = openSync(logPath, "a");
  try {
    const child = spawn(OPENSSL, args, { stdio: ["ignore", fd, fd], env: opensslEnv() });
    child.on("error", () => undefined);
    trackChild(child);
    return child;
  } finally {
    closeSync(fd);
  }
}

/** Undefined when ready; otherwise why not. Ready means it printed ACCEPT (it bound the port) and answers HTTP. */
async function waitReady(child: ChildProcess, port: number, logPath: string): Promise<string | undefined> {
  const deadline = Date.now() + 10_000;
  if (child.pid === undefined) {
    return `could not run ${OPENSSL}`;
  }
  while (Date.now() < deadline) {
    const log = await readFile(logPath, "utf8").catch(() => "");
    if (child.exitCode !== null || child.signalCode !== null) {
      return `exited (${String(child.exitCode ?? child.signalCode)}):\n${log}`;
    }
    if (log.includes("ACCEPT ") && (await livenessCheck(port))) {
      return undefined;
    }
    await delay(20);
  }
  return `no answer within 10 s:\n${await readFile(logPath, "utf8").catch(() => "")}`;
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  child.ref();
  const exited = new Promise<void>((resolve) => child.once("exit", () => { resolve(); }));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
  await exited;
  clearTimeout(timer);
}

/** Kills every responder when the test process ends, even if a test forgot `stop()`. */
function trackChild(child: ChildProcess): void {
  if (!hooksInstalled) {
    installExitHooks();
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
}

let hooksInstalled = false;

function installExitHooks(): void {
  hooksInstalled = true;
  const killAll = (): void => {
    for (const child of live) {
      child.kill("SIGKILL");
    }
  };
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      killAll();
      process.kill(process.pid, signal);
    });
  }
}

/**
 * `GET /` straight to openssl, read to the close. Always a whole request:
 * an empty connection would wedge it. Afterwards openssl re-checks its index.
 */
function livenessCheck(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    let reply = "";
    socket.setTimeout(3_000, () => socket.destroy());
    socket.on("connect", () => socket.end("GET / HTTP/1.0\r\n\r\n"));
    socket.on("data", (chunk: Buffer) => { reply += chunk.toString("latin1"); });
    socket.on("error", () => undefined);
    socket.on("close", () => { resolve(reply.startsWith("HTTP/1.0 200")); });
  });
}

// ---------------------------------------------------------------------------
// The guard proxy

const HEAD_LIMIT = 64 * 1024;

/**
 * Listens on 127.0.0.1 and forwards each connection to openssl only once a
 * complete request head has arrived, so empty or silent connections never
 * reach (and wedge) it. Unref'd: it cannot keep a finished test alive.
 */
async function listenGuard(port: number, upstreamPort: () => number, requests: SeenRequest[]): Promise<Guard> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.once("close", () => sockets.delete(client));
    guardConnection(client, upstreamPort, requests);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      const closed = closeServer(server);
      for (const socket of sockets) {
        socket.destroy();
      }
      await closed;
    },
  };
}

interface Guard {
  readonly port: number;
  /** Stops listening and drops every connection, so `stop()` is prompt. */
  close(): Promise<void>;
}

function guardConnection(client: Socket, upstreamPort: () => number, requests: SeenRequest[]): void {
  let buffered = Buffer.alloc(0);
  client.setTimeout(10_000, () => client.destroy());
  client.on("error", () => undefined);
  const onData = (chunk: Buffer): void => {
    buffered = Buffer.concat([buffered, chunk]);
    if (buffered.includes("\r\n\r\n")) {
      client.off("data", onData);
      client.pause();
      requests.push(parseRequestLine(buffered));
      forward(client, buffered, upstreamPort());
    } else if (buffered.length > HEAD_LIMIT) {
      client.destroy();
    }
  };
  client.on("data", onData);
}

function forward(client: Socket, head: Buffer, port: number): void {
  const upstream = connect(port, "127.0.0.1");
  upstream.on("error", () => client.destroy());
  client.on("close", () => upstream.destroy());
  upstream.on("connect", () => {
    upstream.write(head);
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
}

function parseRequestLine(head: Buffer): SeenRequest {
  const line = head.subarray(0, head.indexOf("\r\n")).toString("latin1");
  const [method = "", target = ""] = line.split(" ");
  return { method, target };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => { resolve(); });
  });
}
