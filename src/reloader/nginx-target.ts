import { messageOf } from "../ocsp/errors.ts";
import type { ControlResult, NginxControl } from "./nginx-control.ts";
import type { DirSnapshot, NginxStapleDir } from "./nginx-staple-dir.ts";
import type { ApplyReport, ChangeFailure, ServerTarget, StapleChange } from "./server-target.ts";
import type { StaplePair } from "./staple-pair.ts";

/**
 * nginx reads `ssl_stapling_file` only when it loads its configuration, so a
 * batch of changes is written to the included directory, then tested
 * (`nginx -t`), then loaded by one graceful reload. A failed test means no
 * reload and new staples are put back as they were, so nothing of ours can
 * stop nginx's next start or reload; the next sync tries again. Withdrawals
 * are never put back: an expired or withdrawn staple must not be loaded by
 * nginx's next start, whatever else is wrong.
 *
 * A reload that could not happen (nginx not started yet, or files a previous
 * run of the reloader left that nginx may never have loaded) stays pending,
 * and `settle` makes it as soon as nginx is there.
 */
export class NginxTarget implements ServerTarget {
  readonly server = "nginx";
  readonly canWithdraw = true;
  private readonly dir: NginxStapleDir;
  private readonly control: NginxControl;
  private reloadPending = false;

  constructor(dir: NginxStapleDir, control: NginxControl) {
    this.dir = dir;
    this.control = control;
  }

  previouslyInstalled(pair: StaplePair): Uint8Array | undefined {
    const installed = this.dir.installed(pair.name);
    // Whether the running nginx loaded these files is unknown (the reloader may have stopped between write and reload).
    if (installed !== undefined) this.reloadPending = true;
    return installed;
  }

  /** Makes a pending reload once nginx runs; undefined when there is nothing to do yet. */
  async settle(): Promise<ControlResult | undefined> {
    if (!this.reloadPending) return undefined;
    const reload = await this.control.reload();
    if (reload === "not-running") return undefined;
    if (reload.ok) this.reloadPending = false;
    return reload;
  }

  async apply(changes: readonly StapleChange[]): Promise<ApplyReport> {
    const written: StapleChange[] = [];
    const failed: ChangeFailure[] = [];
    // Only new staples are put back if nginx refuses the batch: a withdrawn one stays gone.
    const before = changes.filter((change) => change.kind === "install").map((change) => this.dir.snapshot(change.pair.name));
    for (const change of changes) {
      try {
        if (change.kind === "install") this.dir.install(change.pair.name, change.response, change.pair.staplePath);
        else this.dir.withdraw(change.pair.name);
        written.push(change);
      } catch (error) {
        failed.push({ change, reason: "WriteFailed", message: `cannot update ${this.dir.dir}: ${messageOf(error)}` });
      }
    }
    if (written.length === 0) return { applied: [], failed };
    const test = await this.control.configTest();
    if (!test.ok) {
      const rollback = this.restore(before);
      return { applied: [], failed: [...failed, ...written.map((change) => ({ change, reason: "NginxConfigTestFailed" as const, message: `${test.detail}${rollback}` }))] };
    }
    const reload = await this.control.reload();
    this.reloadPending = reload === "not-running";
    if (reload === "not-running") return { applied: written, failed, reload };
    if (!reload.ok) return { applied: [], failed: [...failed, ...written.map((change) => ({ change, reason: "NginxReloadFailed" as const, message: reload.detail }))] };
    return { applied: written, failed, reload: "reloaded" };
  }

  /** Puts the files back; returns "" or what could not be put back, for the log. */
  private restore(snapshots: readonly DirSnapshot[]): string {
    const problems: string[] = [];
    for (const snapshot of snapshots) {
      try {
        this.dir.restore(snapshot);
      } catch (error) {
        problems.push(`${snapshot.name}: ${messageOf(error)}`);
      }
    }
    return problems.length === 0 ? "" : ` (and putting the previous files back failed: ${problems.join("; ")})`;
  }
}
