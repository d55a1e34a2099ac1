import type { ChildProcess } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { removeTempDir } from "./tmp.ts";

/**
 * Daemons the tests start detached (Exim, Apache httpd), each leading its own
 * process group so that its children (Exim's per-connection processes,
 * Apache's workers) are signalled with it, and so that none outlives the
 * test process.
 */

/**
 * SIGTERM to the whole group, SIGKILL if it is not gone within 5 s, then
 * waits until no process of the group is left (a connection's process can
 * outlive the daemon by a moment and still write into `dir`), and removes
 * `dir`.
 */
export async function stopProcessGroup(child: ChildProcess, dir: string | undefined): Promise<void> {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<boolean>((resolve) => child.once("exit", () => { resolve(true); }));
    signalGroup(child, "SIGTERM");
    const clean = await Promise.race([exited, sleep(5_000, false, { ref: false })]);
    if (!clean) {
      signalGroup(child, "SIGKILL");
      await exited;
    }
  }
  if (!(await groupGone(child, 5_000))) {
    signalGroup(child, "SIGKILL");
    await groupGone(child, 5_000);
  }
  if (dir !== undefined) await removeTempDir(dir);
}

/** True once no process of the group is left (polled), false after `timeoutMs`. */
async function groupGone(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.pid === undefined) return true;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(-child.pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > deadline) return false;
    await sleep(20, undefined, { ref: false });
  }
}

/** Signals the group the child leads (it was spawned detached), so its children go too. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

// Nothing kills a detached group with the test process: every group still
// running is killed when the test process ends, also by SIGINT/SIGTERM (the
// test runner's timeout).
const live = new Set<ChildProcess>();
let hooked = false;

/** Kills `child`'s group when the test process ends, unless it has exited by then. */
export function killGroupAtExit(child: ChildProcess): void {
  if (!hooked) {
    hooked = true;
    const killAll = (): void => {
      for (const running of live) signalGroup(running, "SIGKILL");
    };
    process.on("exit", killAll);
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      process.once(signal, () => {
        killAll();
        process.kill(process.pid, signal);
      });
    }
  }
  live.add(child);
  child.once("exit", () => live.delete(child));
}
