/**
 * A real Apache httpd (Debian's apache2, mod_ssl) for end-to-end tests: one
 * TLS virtual host on a free loopback port, with a configuration, pid file,
 * error log, stapling cache and mutexes of its own in a temp dir, so it needs
 * no system set-up (nothing in /etc/apache2 is read) and leaves nothing
 * behind.
 *
 * How it runs, and why (Apache 2.4 on Debian):
 * - `apache2 -D FOREGROUND -f <our conf>`: the parent stays our child and
 *   logs to our error log. It is spawned detached (a process-group leader) so
 *   that its worker processes can be killed with it should a test crash; hooks
 *   on exit, SIGINT and SIGTERM SIGKILL any group still running.
 * - Stopped with SIGTERM (the parent stops its children and exits), then the
 *   group is waited for until no process of it is left; SIGKILL after 5 s.
 * - The prefork MPM: `processes` is exactly how many processes serve
 *   connections (StartServers = MinSpare = MaxSpare = ServerLimit =
 *   MaxRequestWorkers), the number a "requests per Apache process" measurement
 *   needs.
 * - As root (CI) the children must change user: `User`/`Group` are www-data
 *   (nobody/nogroup when there is none). Everything the children need (the
 *   key, certificates, the shmcb cache, the mutex) is opened or mapped by the
 *   root parent before it forks, so our 0700 temp dir is fine. As anyone else
 *   no User/Group is written and Apache runs as the caller.
 * - `Mutex pthread default`: process-shared mutexes in memory, no lock files
 *   to chown and no SysV semaphores left behind by a killed server.
 *
 * What mod_ssl's own stapling does (`SSLUseStapling on`, Apache 2.4.71 with
 * OpenSSL 3.0 on Debian), measured by test/e2e/apache-stapling.test.ts with a
 * counting proxy (counting-proxy.ts) in front of an `openssl ocsp` responder:
 * - Lazy and synchronous: nothing is fetched at start. The first handshake
 *   that asks for a status (status_request) makes its process POST to the
 *   responder inside that handshake and staple the answer: the very first
 *   handshake is stapled; it waits for the responder (up to
 *   `SSLStaplingResponderTimeout`, default 10 s: a stalled responder stalls
 *   that handshake that long). Clients that do not ask cause no fetch.
 * - Shared: the answer goes into the `SSLStaplingCache` (shmcb shared memory,
 *   mapped by the parent before it forks), so N processes make one request:
 *   first handshakes arriving together on different processes wait on the
 *   stapling refresh mutex, and all but one then find the cached answer. A
 *   good response is served from the cache until
 *   `SSLStaplingStandardCacheTimeout` (default 3600 s) or its nextUpdate.
 * - No signature check: mod_ssl checks only the CertID, thisUpdate/nextUpdate
 *   and the status; a response signed by a stranger's key is stapled (and
 *   rejected by clients and by `ocsp-stapler check`: UnauthorizedSigner).
 * - Responder unreachable (connection closed, refused, timed out), defaults
 *   (`SSLStaplingReturnResponderErrors on`, `SSLStaplingFakeTryLater on`):
 *   clients get a made-up OCSP response with status tryLater (3). A quirk of
 *   mod_ssl (the "ok" flag is not cleared on this path) caches it as if it
 *   were good, for `SSLStaplingStandardCacheTimeout` (default an hour), not
 *   `SSLStaplingErrorCacheTimeout`: one responder blip at the first handshake
 *   means tryLater staples, and no new request, for up to an hour.
 * - Responder unreachable, `SSLStaplingReturnResponderErrors off` (FakeTryLater
 *   on): the made-up tryLater is still stapled (same quirk), but not served
 *   from the cache: every handshake asks the responder again, synchronously,
 *   until it answers; then the good response is stapled and cached.
 * - Responder unreachable, both off: no staple, nothing cached, every
 *   handshake asks again; stapled as soon as the responder answers.
 * - A responder's own error answer (HTTP 200, an OCSP error status such as
 *   unauthorized (6)): stapled as it is (ReturnResponderErrors on) and cached
 *   for `SSLStaplingErrorCacheTimeout` (default 600 s), then asked again.
 */
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { userInfo } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { APACHE, findProgram } from "./programs.ts";
import { waitListening } from "./server-process.ts";
import { makeTempDir, removeTempDir } from "./tmp.ts";
import { killGroupAtExit, stopProcessGroup } from "./process-group.ts";

/** mod_ssl's own stapling: each field is one `SSLStapling*` directive; absent ones keep Apache's default. */
export interface ApacheStapling {
  /** `SSLStaplingForceURL`: ask this responder instead of the certificate's AIA URL. */
  readonly forceUrl?: string;
  /** `SSLStaplingResponderTimeout`, seconds (default 10). */
  readonly responderTimeout?: number;
  /** `SSLStaplingReturnResponderErrors` (default on). */
  readonly returnResponderErrors?: boolean;
  /** `SSLStaplingFakeTryLater` (default on; needs returnResponderErrors). */
  readonly fakeTryLater?: boolean;
  /** `SSLStaplingStandardCacheTimeout`, seconds (default 3600). */
  readonly standardCacheTimeout?: number;
  /** `SSLStaplingErrorCacheTimeout`, seconds (default 600). */
  readonly errorCacheTimeout?: number;
}

export interface ApacheOptions {
  /** `SSLCertificateFile`, PEM: the leaf, then the intermediates Apache should send (mod_ssl finds the issuer here). */
  readonly certPath: string;
  /** `SSLCertificateKeyFile`. */
  readonly keyPath: string;
  /** `SSLCACertificateFile`: where mod_ssl looks for the issuer when certPath holds the leaf alone. */
  readonly caCertPath?: string;
  /** `SSLUseStapling on` with these settings; absent: no stapling. */
  readonly stapling?: ApacheStapling;
  /** Prefork processes serving connections (default 1). */
  readonly processes?: number;
  /** `LogLevel`, default `warn ssl:info`; `ssl:debug` logs every stapling step. */
  readonly logLevel?: string;
}

export interface RunningApache {
  readonly port: number;
  readonly dir: string;
  /** The parent's pid (the process group of all its children). */
  readonly pid: number;
  /** Apache's error log and stderr, for failure messages (and stapling's log lines). */
  readonly errorLog: () => Promise<string>;
  stop(): Promise<void>;
}

/** Where Debian's apache2 is, or undefined when it is not installed. */
export function apacheBinary(): string | undefined {
  return findProgram(APACHE);
}

/** Starts Apache as described above; resolves once it accepts connections. */
export async function startApache(options: ApacheOptions): Promise<RunningApache> {
  const binary = apacheBinary();
  if (binary === undefined) throw new Error("Apache is not installed (Debian: apt-get install apache2)");
  const dir = await makeTempDir("apache");
  try {
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      const configPath = join(dir, "httpd.conf");
      await writeFile(configPath, apacheConfig(dir, port, options));
      const child = spawn(binary, ["-D", "FOREGROUND", "-f", configPath], { stdio: ["ignore", "ignore", "pipe"], detached: true });
      killGroupAtExit(child);
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
      child.on("error", (error) => { stderr += error.message; });
      const errorLog = async (): Promise<string> => `${await readFile(join(dir, "error.log"), "utf8").catch(() => "")}${stderr}`;
      if (await waitListening(port, child) && child.pid !== undefined) {
        return { port, dir, pid: child.pid, errorLog, stop: () => stopProcessGroup(child, dir) };
      }
      await stopProcessGroup(child, undefined);
      const why = await errorLog();
      if (!why.includes("Address already in use") || attempt >= 3) throw new Error(`Apache did not start:\n${why}`);
    }
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }
}

/** The whole httpd.conf: everything under `dir`, one TLS virtual host on 127.0.0.1:port. */
export function apacheConfig(dir: string, port: number, options: ApacheOptions): string {
  const processes = options.processes ?? 1;
  const stapling = options.stapling;
  const onOff = (value: boolean): string => (value ? "on" : "off");
  const lines = [
    "# Written by test/support/apache.ts for one test run.",
    `ServerRoot ${dir}`,
    `PidFile ${join(dir, "httpd.pid")}`,
    `ErrorLog ${join(dir, "error.log")}`,
    `LogLevel ${options.logLevel ?? "warn ssl:info"}`,
    "ServerName localhost",
    "Mutex pthread default",
    ...runAs(),
    "LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so",
    "LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so",
    "LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so",
    "LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so",
    `StartServers ${processes}`,
    `MinSpareServers ${processes}`,
    `MaxSpareServers ${processes}`,
    `ServerLimit ${processes}`,
    `MaxRequestWorkers ${processes}`,
    "MaxConnectionsPerChild 0",
    "KeepAlive off",
    `DocumentRoot ${dir}`,
    `Listen 127.0.0.1:${port}`,
    `SSLSessionCache shmcb:${join(dir, "ssl_scache")}(512000)`,
    ...(stapling === undefined ? [] : [`SSLStaplingCache shmcb:${join(dir, "ssl_stapling")}(128000)`]),
    `<VirtualHost 127.0.0.1:${port}>`,
    "  SSLEngine on",
    "  SSLProtocol -all +TLSv1.2 +TLSv1.3",
    `  SSLCertificateFile ${options.certPath}`,
    `  SSLCertificateKeyFile ${options.keyPath}`,
    ...(options.caCertPath === undefined ? [] : [`  SSLCACertificateFile ${options.caCertPath}`]),
    ...(stapling === undefined ? [] : [
      "  SSLUseStapling on",
      ...(stapling.forceUrl === undefined ? [] : [`  SSLStaplingForceURL ${stapling.forceUrl}`]),
      ...(stapling.responderTimeout === undefined ? [] : [`  SSLStaplingResponderTimeout ${stapling.responderTimeout}`]),
      ...(stapling.returnResponderErrors === undefined ? [] : [`  SSLStaplingReturnResponderErrors ${onOff(stapling.returnResponderErrors)}`]),
      ...(stapling.fakeTryLater === undefined ? [] : [`  SSLStaplingFakeTryLater ${onOff(stapling.fakeTryLater)}`]),
      ...(stapling.standardCacheTimeout === undefined ? [] : [`  SSLStaplingStandardCacheTimeout ${stapling.standardCacheTimeout}`]),
      ...(stapling.errorCacheTimeout === undefined ? [] : [`  SSLStaplingErrorCacheTimeout ${stapling.errorCacheTimeout}`]),
    ]),
    "</VirtualHost>",
    "",
  ];
  return lines.join("\n");
}

/** As root, the children must run as someone: www-data, or nobody/nogroup without it. */
function runAs(): string[] {
  if (userInfo().uid !== 0) return [];
  const hasWwwData = findUser("www-data");
  return hasWwwData ? ["User www-data", "Group www-data"] : ["User nobody", "Group nogroup"];
}

function findUser(name: string): boolean {
  try {
    return readFileSync("/etc/passwd", "utf8").split("\n").some((line) => line.startsWith(`${name}:`));
  } catch {
    return false;
  }
}

/** Runs `body` against an Apache started with `options`, stopped after; a failure carries Apache's error log. */
export async function withApache(options: ApacheOptions, body: (apache: RunningApache) => Promise<void>): Promise<void> {
  const apache = await startApache(options);
  try {
    await body(apache);
  } catch (error) {
    throw new Error(`${String(error)}\nApache's error log:\n${await apache.errorLog()}`, { cause: error });
  } finally {
    await apache.stop();
  }
}
