/**
 * A real Exim (Debian's `exim4-daemon-light`, built with GnuTLS) for
 * end-to-end tests: a daemon in the foreground on a free loopback port, with
 * a configuration, spool, logs and pid file of its own in a temp dir, so it
 * needs no system set-up and leaves nothing behind. It serves STARTTLS with
 * our certificate, key and (optionally) `tls_ocsp_file`, and accepts no mail.
 *
 * How it runs, and why (Exim 4.96 on Debian 12):
 * - `exim4 -C <our config> -bdf`: `-C` names the configuration, `-bd` makes a
 *   daemon, `f` keeps it in the foreground so it stays our child. The port
 *   and address come from the configuration (`local_interfaces`), not from
 *   `-oX`, so the daemon writes its pid file where we told it.
 * - `-C` with a file outside Debian's TRUSTED_CONFIG_LIST
 *   (/etc/exim4/trusted_configs) is allowed, but a caller other than root
 *   loses privilege: the setuid binary then runs wholly as the caller ("exim
 *   user lost privilege for using -C option" in the log), which suits a test.
 *   Without privilege the daemon logs to stderr instead of mainlog, and on
 *   SIGTERM cannot have its pid file removed (stderr: "only uid=0 or uid=102
 *   can use -oP and -oPX"): harmless, the temp dir goes anyway.
 *   So nothing in /etc is touched: no trusted_configs entry, no setuid games.
 * - `exim_user`/`exim_group` are set to whoever runs the test (root in CI).
 *   With Debian's default (Debian-exim) Exim creates its log files, and serves
 *   connections, as that user, which cannot write to (or even enter) our
 *   root-owned 0700 temp dirs: "Cannot open main log file ... Permission
 *   denied". Running as ourselves, every file the test made is readable.
 * - `daemon_startup_retries = 0`: a port taken between `freePort()` and the
 *   bind fails at once (Exim's default retries for minutes); we retry with
 *   another port.
 * - Stopped with SIGTERM to its process group (it was started detached, as a
 *   group leader, so connection-handling children go too): Exim 4.96 removes
 *   its pid file and exits 0. SIGKILL after 5 s; and hooks on exit, SIGINT
 *   and SIGTERM kill any daemon a crashed or killed test left, so none leaks.
 *
 * Observed, and relied on by the renewal test: the daemon loads the staple
 * with the certificate at start and watches the files (inotify); about five
 * seconds after tls_ocsp_file changes (in place, renamed over, or a kubelet
 * `..data` symlink swap) new connections get the new staple. No restart.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "./free-port.ts";
import { EXIM, findProgram } from "./programs.ts";
import { makeTempDir, removeTempDir } from "./tmp.ts";
import { killGroupAtExit, stopProcessGroup } from "./process-group.ts";

export interface EximOptions {
  /** PEM: the leaf, then the intermediates Exim should send (`tls_certificate`). */
  readonly certPath: string;
  /** `tls_privatekey`. */
  readonly keyPath: string;
  /**
   * `tls_ocsp_file`, written as given: a path to a DER OCSP response,
   * `pemBundle(path)` for a bundle of several, or an expansion such as
   * `ocspFileIfExists(path)`. Absent: Exim staples nothing.
   */
  readonly ocspFile?: string;
}

/**
 * `tls_ocsp_file = ${if exists{PATH}{PATH}}`: staple PATH when it exists,
 * else nothing. Being an expansion, it is not preloaded by the daemon but
 * expanded and read at every TLS handshake (observed with Exim 4.96).
 */
export function ocspFileIfExists(path: string): string {
  if (/[${}\\\s]/.test(path)) throw new Error(`a path Exim would mis-expand: ${path}`);
  return `\${if exists{${path}}{${path}}}`;
}

/**
 * `tls_ocsp_file = PEM PATH`: PATH holds several responses as `OCSP RESPONSE`
 * PEM blocks, one per certificate of the chain: what `fetch --chain full
 * --out` writes (src/ocsp/response-bundle.ts). The prefix (GnuTLS 3.6.3+;
 * observed with Exim 4.96) makes Exim load the file as PEM; without it Exim reads one DER response. Under TLS 1.3 GnuTLS sends
 * every response with its certificate; under TLS 1.2, the leaf's only.
 */
export function pemBundle(path: string): string {
  if (/[${}\\\s]/.test(path)) throw new Error(`a path Exim would mis-expand: ${path}`);
  return `PEM ${path}`;
}

/**
 * `tls_ocsp_file = ${if exists{PATH}{PEM PATH}}`: the bundle when PATH
 * exists, else no staple at all (the expansion is empty), read at every
 * handshake. What to write when the bundle may be withdrawn: a plain
 * `PEM PATH` naming a missing file makes STARTTLS fail instead.
 */
export function pemBundleIfExists(path: string): string {
  return `\${if exists{${path}}{${pemBundle(path)}}}`;
}

export interface RunningExim {
  readonly port: number;
  readonly dir: string;
  /** Exim's mainlog, paniclog and stderr (where it logs when not root), for failure messages. */
  readonly log: () => Promise<string>;
  stop(): Promise<void>;
}

/** Where Debian's Exim is, or undefined when it is not installed. */
export function eximBinary(): string | undefined {
  return findProgram(EXIM);
}

/** Starts Exim as described above; resolves once it listens. */
export async function startExim(options: EximOptions): Promise<RunningExim> {
  const binary = eximBinary();
  if (binary === undefined) throw new Error("Exim is not installed (Debian: apt-get install exim4-daemon-light)");
  const dir = await makeTempDir("exim");
  try {
    await mkdir(join(dir, "spool"));
    await mkdir(join(dir, "log"));
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const configPath = join(dir, "exim.conf");
      await writeFile(configPath, config(dir, port, options), { mode: 0o644 });
      const child = spawn(binary, ["-C", configPath, "-bdf"], { stdio: ["ignore", "ignore", "pipe"], detached: true });
      killGroupAtExit(child);
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
      child.on("error", (error) => { stderr += error.message; });
      const log = async (): Promise<string> => `${await readLogs(dir)}${stderr}`;
      if (await started(port, child, log)) {
        return { port, dir, log, stop: () => stopProcessGroup(child, dir) };
      }
      await stopProcessGroup(child, undefined);
      const why = await log();
      if (!why.includes("Address already in use") || attempt >= 3) throw new Error(`Exim did not start:\n${why}`);
    }
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
}

function config(dir: string, port: number, options: EximOptions): string {
  const user = userInfo();
  return `# Written by test/support/exim.ts for one test run.
exim_user = ${String(user.uid)}
exim_group = ${String(user.gid)}
keep_environment =
primary_hostname = localhost
local_interfaces = <; 127.0.0.1
daemon_smtp_ports = ${String(port)}
daemon_startup_retries = 0
spool_directory = ${join(dir, "spool")}
log_file_path = ${join(dir, "log", "%slog")}
pid_file_path = ${join(dir, "exim.pid")}
rfc1413_query_timeout = 0s
host_lookup =
tls_advertise_hosts = *
tls_certificate = ${options.certPath}
tls_privatekey = ${options.keyPath}
${options.ocspFile === undefined ? "" : `tls_ocsp_file = ${options.ocspFile}\n`}acl_smtp_rcpt = refuse_all

begin acl

refuse_all:
  deny message = this test server accepts no mail
`;
}

/** True once Exim logs that its daemon listens on `port` and the process is still there. */
async function started(port: number, child: ChildProcess, log: () => Promise<string>): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return false;
    const text = await log();
    if (text.includes("daemon started") && text.includes(`[127.0.0.1]:${String(port)}`)) return true;
    await sleep(50);
  }
  return false;
}

async function readLogs(dir: string): Promise<string> {
  const read = (name: string): Promise<string> => readFile(join(dir, "log", name), "utf8").catch(() => "");
  const [main, panic] = await Promise.all([read("mainlog"), read("paniclog")]);
  return `${main}${panic === "" ? "" : `paniclog:\n${panic}`}`;
}
