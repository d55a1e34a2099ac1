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

  /**
   * "not-running": no pid file yet (nginx has not started, or not finished
   * starting); it reads the staple when it starts. A pid file that names no
   * nginx master visible here is a failure that says so: most often the pod
   * lacks `shareProcessNamespace: true` (nginx, pid 1 of its own namespace,
   * wrote "1"), or the file is stale.
   */
  async reload(): Promise<ControlResult | "not-running"> {
    if (this.reloadHow.kind === "command") return run(this.reloadHow.argv);
    const { path } = this.reloadHow;
    const pid = readPid(path);
    if (pid === undefined) return "not-running";
    if (pid === "unreadable" || !isNginxMaster(pid)) {
      return { ok: false, detail: `${path} names ${pid === "unreadable" ? "no pid" : `pid ${pid}`}, which is not an nginx master this reloader can see: is shareProcessNamespace: true set, and does nginx write its pid file there?` };
    }
    try {
      process.kill(pid, "SIGHUP");
      return { ok: true, detail: `sent SIGHUP to nginx master ${pid}` };
    } catch (error) {
      return { ok: false, detail: `cannot signal nginx master ${pid} (from ${path}): ${messageOf(error)}` };
    }
  }
}

/** The pid in the file; undefined when there is no file (or an empty one), "unreadable" when it holds no usable pid. */
function readPid(path: string): number | "unreadable" | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
  // `nginx -t` leaves an empty pid file behind: nginx has not started yet.
  if (text === "") return undefined;
  const pid = Number(text);
  return Number.isInteger(pid) && pid > 1 ? pid : "unreadable";
}

/**
 * A pid file left by an nginx that died may name a pid reused since, by any
 * process in the shared namespace (the reloader itself, whose SIGHUP default
 * is to exit): signal only another process whose executable is nginx
 * (`/proc/<pid>/comm`; a command line that merely mentions nginx, like ours,
 * does not count). Where /proc cannot tell (not Linux), trust the pid file.
 */
function isNginxMaster(pid: number): boolean {
  if (pid === process.pid) return false;
  if (!existsSync("/proc/self/comm")) return true;
  try {
    return readFileSync(`/proc/${pid}/comm`, "latin1").trim() === "nginx";
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
