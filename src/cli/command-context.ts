import type { Scheduler } from "../ocsp/clock.ts";
import type { HttpTransport } from "../ocsp/http-transport.ts";
import type { ChainReport } from "./chain-report.ts";
import type { ExitStatus } from "./exit-status.ts";
import type { Report } from "./report.ts";

/** What a command may touch, injected so commands run in-process in tests. */
export interface CommandContext {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** The time, and the timers of the long-running commands (controller, reloader). */
  readonly clock: Scheduler;
  /** Built on first use: `inspect` without network needs never creates one. */
  readonly transport: () => HttpTransport;
  /** Whether output may be coloured: stdout is a terminal and NO_COLOR is unset (`status`). Absent: no colour. */
  readonly colour?: boolean;
}

/** What a command produced: the report (a single staple's, or a chain's per element), its exit status and, for `inspect --at`, the instant it judged at. */
export interface CommandOutcome {
  readonly report: Report | ChainReport;
  readonly exit: ExitStatus;
  readonly at?: Date;
}

/** A command's entry point: an outcome, or "help" when `--help` was asked. */
export type CommandRunner = (args: readonly string[], context: CommandContext) => Promise<CommandOutcome | "help">;
