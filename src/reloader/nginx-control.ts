import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { messageOf } from "../ocsp/errors.ts";

/** How the reloader makes nginx load a new configuration. */
export type NginxReload =
  /** SIGHUP to the master whose pid nginx wrote (a shared process namespace). */
  | { readonly kind: "pid-file"; readonly path: string }
  /** Any command, e.g. `nginx -s reload` when the sidecar runs nginx's own image. */
  | { readonly kind: "command"; readonly argv: readonly string[] };

export type ControlResult = { readonly ok: true; readonly detail: string } | { readonly ok: false; readonly detail: string };

const COMMAND_TIMEOUT_MS = 30_000;

/**
 * The two things the reloader asks of nginx: test the configuration (so a
 * broken file never reaches a reload) and reload gracefully (the master
 * re-reads the configuration, starts new workers and lets the old ones
 * finish their connections: no dropped connection, same master).
 */
export class NginxControl {
  private readonly testArgv: readonly string[] | undefined;
  private readonly reloadHow: NginxReload;

  /** `testArgv` undefined: no configuration test (nginx itself keeps the old configuration if the new one fails). */
  constructor(testArgv: readonly string[] | undefined, reload: NginxReload) {
    this.testArgv = testArgv;
    this.reloadHow = reload;
  }

  configTest(): Promise<ControlResult> {
    return this.testArgv === undefined ? Promise.resolve({ ok: true, detail: "no configuration test configured" }) : run(this.testArgv);
  }

  /** "not-running": no master to signal yet; it reads the staple when it starts. */
  async reload(): Promise<ControlResult | "not-running"> {
    if (this.reloadHow.kind === "command") return run(this.reloadHow.argv);
    const pid = readPid(this.reloadHow.path);
    if (pid === undefined || !isNginx(pid)) return "not-running";
    try {
      process.kill(pid, "SIGHUP");
      return { ok: true, detail: `sent SIGHUP to nginx master ${pid}` };
    } catch (error) {
      if (error instanceof Error && "code" in error && error.code === "ESRCH") return "not-running";
      return { ok: false, detail: `cannot signal nginx master ${pid} (from ${this.reloadHow.path}): ${messageOf(error)}` };
    }
  }
}

function readPid(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/**
 * A pid file left by an nginx that died may name a pid reused since, by any
 * process in the shared namespace (the reloader itself, whose SIGHUP default
 * is to exit): signal only a process whose command line says nginx. Where
 * /proc cannot tell (not Linux), trust the pid file.
 */
function isNginx(pid: number): boolean {
  if (!existsSync("/proc/self/cmdline")) return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").includes("nginx");
  } catch {
    return false;
  }
}

function run(argv: readonly string[]): Promise<ControlResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.resolve({ ok: false, detail: "empty command" });
  return new Promise((resolve) => {
    execFile(file, args, { timeout: COMMAND_TIMEOUT_MS, encoding: "utf8" }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      resolve(error === null ? { ok: true, detail: output } : { ok: false, detail: `${argv.join(" ")} failed: ${output || error.message}` });
    });
  });
}
