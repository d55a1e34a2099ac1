import { existsSync, mkdirSync } from "node:fs";
import type { Logger } from "pino";
import { messageOf } from "../ocsp/errors.ts";
import { readCertificates } from "../ocsp/pem.ts";
import { createLogger } from "../observe/logger.ts";
import { startHealthServer } from "../observe/health-server.ts";
import { HaproxyTarget } from "../reloader/haproxy-target.ts";
import { NginxControl, type NginxReload } from "../reloader/nginx-control.ts";
import { NginxStapleDir } from "../reloader/nginx-staple-dir.ts";
import { NginxTarget } from "../reloader/nginx-target.ts";
import { Reloader } from "../reloader/reloader.ts";
import type { ServerTarget } from "../reloader/server-target.ts";
import { staplePair, type StaplePair } from "../reloader/staple-pair.ts";
import { parseDuration } from "../staple/duration.ts";
import { choiceFlag, listFlag, parseCommandLine, stringFlag, type ParsedCommandLine } from "./args.ts";
import type { CommandContext } from "./command-context.ts";
import { EXIT, type ExitStatus } from "./exit-status.ts";
import { readInputFile } from "./load-files.ts";
import { UsageError } from "./usage-error.ts";
import { shutdownSignal } from "./shutdown-signal.ts";

export const RELOADER_HELP = `Usage: ocsp-stapler reloader --server nginx|haproxy --cert CERT --staple STAPLE [options]

A sidecar for nginx and HAProxy pods: follows staple files mounted from the
operator's companion Secrets, verifies each against the certificate mounted
beside it, and hands only verified staples to the server. Never a staple
that is truncated, expired, unknown or for another certificate: those are
logged with the engine's error code and counted in metrics.

Pairs (repeat both flags for several certificates; the n-th --cert goes with
the n-th --staple):
  --cert PATH          a mounted TLS Secret directory (its tls.crt is used) or
                       a PEM chain file: the leaf first, then intermediates;
                       ca.crt beside it is searched for the issuer
  --staple FILE        the DER staple for it (e.g. the companion's tls.ocsp).
                       With chain: Full, point --staple at the leaf's key
                       (tls.ocsp): nginx and HAProxy serve one staple, the
                       leaf's; the intermediates' keys (tls.ocsp.1, …) and
                       the bundle (tls.ocsp.pem) are for GnuTLS servers
  --name NAME          names the pair in logs, metrics and nginx file names
                       (repeat once per pair; default tls, tls-2, tls-3, …)
  --issuer FILE        an issuer certificate, when neither the chain nor
                       ca.crt holds it (repeatable; searched for every pair)

Server:
  --server S           nginx or haproxy
  --haproxy-socket P   HAProxy's runtime API socket, at "level admin"
                       (default /run/haproxy/admin.sock). Staples are pushed
                       with "set ssl ocsp-response": no reload. HAProxy is
                       asked at every sync which staple it holds, so one that
                       restarted gets ours again within --interval. A staple
                       gone from the volume is dropped by a certificate
                       transaction, which needs the key where HAProxy reads
                       it (in the --cert file or in <cert>.key).
  --nginx-staple-dir D where verified staples and snippets go (default
                       /run/ocsp-stapler, e.g. an emptyDir shared with nginx).
                       nginx.conf has "include D/*.conf;" in the server block
                       (several server blocks: "include D/NAME.con[f];").
                       A verified staple is written as NAME.der plus NAME.conf
                       ("ssl_stapling on; ssl_stapling_file D/NAME.der;");
                       a withdrawn or expired one loses both.
  --nginx-pid-file F   reload by SIGHUP to the master whose pid is in F
                       (default /run/nginx.pid; needs a shared process
                       namespace, shareProcessNamespace: true)
  --nginx-reload-command CMD
                       reload by running CMD instead, e.g. "nginx -s reload"
  --nginx-test-command CMD
                       run before every reload; no reload when it fails
                       (default "nginx -t"; "none" to skip). Commands are
                       split on spaces and run without a shell.

Operation:
  --interval DURATION  re-check every pair this often, whatever the volume
                       events say (default 60s; 1s to 10m)
  --metrics-addr A     serve /healthz, /readyz (after the first sync) and
                       /metrics here (default :9090)
  -h, --help           show this help

Watches each volume directory for the kubelet's atomic "..data" swap, and
coalesces bursts: at most one nginx reload per change. Logs are JSON lines
on stdout (LOG_LEVEL sets the level). Stops on SIGTERM or SIGINT.
`;

const OPTIONS = {
  server: { type: "string" }, cert: { type: "string", multiple: true }, staple: { type: "string", multiple: true },
  name: { type: "string", multiple: true }, issuer: { type: "string", multiple: true },
  "haproxy-socket": { type: "string" }, "nginx-staple-dir": { type: "string" }, "nginx-pid-file": { type: "string" },
  "nginx-reload-command": { type: "string" }, "nginx-test-command": { type: "string" },
  interval: { type: "string" }, "metrics-addr": { type: "string" },
} as const;

const NGINX_FLAGS = ["nginx-staple-dir", "nginx-pid-file", "nginx-reload-command", "nginx-test-command"] as const;
const DEBOUNCE_MS = 300;
const RETRY_MS = 5_000;

/** What tests inject; the command line passes nothing. */
export interface ReloaderRuntime {
  readonly stop?: Promise<unknown>;
  readonly logger?: Logger;
  /** Called once serving, with the bound metrics port (tests use port 0). */
  readonly onListening?: (port: number) => void;
}

/** Runs until SIGTERM/SIGINT (or `runtime.stop`); returns the exit status. */
export async function runReloader(args: readonly string[], context: CommandContext, runtime: ReloaderRuntime = {}): Promise<ExitStatus | "help"> {
  const { values } = parseCommandLine(args, OPTIONS, { min: 0, max: 0 });
  if (values.help === true) return "help";
  const server = choiceFlag(values, "server", ["nginx", "haproxy"] as const);
  if (server === undefined) throw new UsageError("--server is required (nginx or haproxy)");
  const pairs = readPairs(values);
  const issuers = listFlag(values, "issuer").flatMap((path) => readCertificates(readInputFile(path, "the issuer"), path));
  const intervalMs = intervalFlag(stringFlag(values, "interval"));
  const target = server === "haproxy" ? haproxyTarget(values) : nginxTarget(values);
  // Checked last, after the flags themselves: a volume is mounted before its container starts, so a
  // --cert that is not there is a mistake, and would leave a Secret directory taken for a chain file.
  const absent = listFlag(values, "cert").find((cert) => !existsSync(cert));
  if (absent !== undefined) throw new UsageError(`--cert: "${absent}" does not exist`);
  const logger = runtime.logger ?? createLogger();
  const reloader = new Reloader({ pairs, target, issuers, clock: context.clock, logger, intervalMs, debounceMs: DEBOUNCE_MS, retryMs: Math.min(RETRY_MS, intervalMs) });
  const health = await startHealthServer(stringFlag(values, "metrics-addr") ?? ":9090", { ready: () => reloader.ready, registry: reloader.metrics.registry });
  runtime.onListening?.(health.port);
  logger.info({ server, pairs: pairs.map((pair) => ({ name: pair.name, cert: pair.certPath, staple: pair.staplePath })), intervalMs, metricsPort: health.port }, "starting");
  // Listen for SIGTERM before the first sync: in a container the reloader may be pid 1, which ignores an unhandled SIGTERM.
  const stopRequested = runtime.stop ?? shutdownSignal();
  await reloader.start();
  await stopRequested;
  logger.info("stopping");
  await reloader.stop();
  await health.close();
  return EXIT.good;
}

function readPairs(values: ParsedCommandLine["values"]): StaplePair[] {
  const certs = listFlag(values, "cert");
  const staples = listFlag(values, "staple");
  const names = listFlag(values, "name");
  if (certs.length === 0 || staples.length === 0) throw new UsageError("give at least one --cert and --staple");
  if (certs.length !== staples.length) throw new UsageError(`--cert and --staple pair up in order: got ${certs.length} --cert and ${staples.length} --staple`);
  if (names.length !== 0 && names.length !== certs.length) throw new UsageError(`give one --name per pair or none: got ${names.length} for ${certs.length} pairs`);
  const pairs = certs.map((cert, index) => {
    const name = names[index] ?? (index === 0 ? "tls" : `tls-${index + 1}`);
    try {
      return staplePair(name, cert, staples[index] ?? "");
    } catch (error) {
      throw new UsageError(`--name: ${messageOf(error)}`);
    }
  });
  const duplicate = pairs.find((pair, index) => pairs.findIndex((other) => other.name === pair.name) !== index);
  if (duplicate !== undefined) throw new UsageError(`--name "${duplicate.name}" is given twice`);
  return pairs;
}

function haproxyTarget(values: ParsedCommandLine["values"]): ServerTarget {
  const misplaced = NGINX_FLAGS.find((flag) => values[flag] !== undefined);
  if (misplaced !== undefined) throw new UsageError(`--${misplaced} is for --server nginx`);
  return new HaproxyTarget(stringFlag(values, "haproxy-socket") ?? "/run/haproxy/admin.sock");
}

function nginxTarget(values: ParsedCommandLine["values"]): ServerTarget {
  if (values["haproxy-socket"] !== undefined) throw new UsageError("--haproxy-socket is for --server haproxy");
  const pidFile = stringFlag(values, "nginx-pid-file");
  const reloadCommand = stringFlag(values, "nginx-reload-command");
  if (pidFile !== undefined && reloadCommand !== undefined) throw new UsageError("give --nginx-pid-file or --nginx-reload-command, not both");
  const reload: NginxReload = reloadCommand === undefined ? { kind: "pid-file", path: pidFile ?? "/run/nginx.pid" } : { kind: "command", argv: commandArgv("nginx-reload-command", reloadCommand) };
  const testCommand = stringFlag(values, "nginx-test-command") ?? "nginx -t";
  const dir = stringFlag(values, "nginx-staple-dir") ?? "/run/ocsp-stapler";
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw new UsageError(`--nginx-staple-dir: cannot create "${dir}" (${messageOf(error)})`);
  }
  return new NginxTarget(new NginxStapleDir(dir), new NginxControl(testCommand.trim() === "none" ? undefined : commandArgv("nginx-test-command", testCommand), reload));
}

function commandArgv(flag: string, command: string): string[] {
  const argv = command.split(" ").filter((part) => part !== "");
  if (argv.length === 0) throw new UsageError(`--${flag} is empty`);
  return argv;
}

/** "60s", "5m", "1m30s", or a bare number of seconds. */
function intervalFlag(text: string | undefined): number {
  if (text === undefined) return 60_000;
  let ms: number;
  try {
    ms = /^\d+(\.\d+)?$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  } catch (error) {
    throw new UsageError(`--interval: ${messageOf(error)}`);
  }
  if (ms < 1_000 || ms > 600_000) throw new UsageError(`--interval must be between 1s and 10m, got "${text}"`);
  return ms;
}
