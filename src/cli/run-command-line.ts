import { systemClock } from "../ocsp/clock.ts";
import { UndiciTransport } from "../ocsp/undici-transport.ts";
import { VERSION } from "../version.ts";
import { isChainReport, renderChainText } from "./chain-report.ts";
import { CHECK_HELP, runCheck } from "./check-command.ts";
import { CONTROLLER_HELP, runController } from "./controller-command.ts";
import type { CommandContext, CommandRunner } from "./command-context.ts";
import { EXIT, type ExitStatus } from "./exit-status.ts";
import { FETCH_HELP, runFetch } from "./fetch-command.ts";
import { INSPECT_HELP, runInspect } from "./inspect-command.ts";
import { RELOADER_HELP, runReloader } from "./reloader-command.ts";
import { RESPONDER_HELP, runResponder } from "./responder-command.ts";
import { STATUS_HELP, runStatus } from "./status-command.ts";
import { failureReport, renderText } from "./report.ts";
import { UsageError } from "./usage-error.ts";

const MAIN_HELP = `Usage: ocsp-stapler <command> [options]

Commands:
  fetch       get and verify an OCSP staple for a certificate chain
  inspect     decode a staple file and verify it (at a given time)
  check       connect to a TLS server and verify the staple it serves
  controller  run the Kubernetes operator
  reloader    sidecar: hand verified mounted staples to nginx or HAProxy
  responder   serve the operator's staples as an OCSP responder (RFC 5019)
  status      the fleet at a glance: every selected Secret's staple, failing first

Run "ocsp-stapler <command> --help" for a command's options.
`;

const COMMANDS: Record<string, { run: CommandRunner; help: string }> = {
  fetch: { run: runFetch, help: FETCH_HELP },
  inspect: { run: runInspect, help: INSPECT_HELP },
  check: { run: runCheck, help: CHECK_HELP },
};

/** Runs one command line and returns its exit status; never throws. */
export async function main(argv: readonly string[], context: CommandContext): Promise<ExitStatus> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    context.stdout(MAIN_HELP);
    return name === undefined ? EXIT.failure : EXIT.good;
  }
  if (name === "--version") {
    context.stdout(`${VERSION}\n`);
    return EXIT.good;
  }
  if (name === "controller") return runServiceCommand(name, CONTROLLER_HELP, () => runController(args, context), context);
  if (name === "reloader") return runServiceCommand(name, RELOADER_HELP, () => runReloader(args, context), context);
  if (name === "responder") return runServiceCommand(name, RESPONDER_HELP, () => runResponder(args, context), context);
  if (name === "status") return runServiceCommand(name, STATUS_HELP, () => runStatus(args, context), context);
  const command = COMMANDS[name];
  if (command === undefined) {
    context.stderr(`ocsp-stapler: unknown command "${name}"\n\n${MAIN_HELP}`);
    return EXIT.failure;
  }
  const json = args.includes("--json");
  try {
    const outcome = await command.run(args, context);
    if (outcome === "help") {
      context.stdout(command.help);
      return EXIT.good;
    }
    const now = outcome.at ?? context.clock.now();
    const text = isChainReport(outcome.report) ? renderChainText(outcome.report, now) : renderText(outcome.report, now);
    context.stdout(json ? `${JSON.stringify(outcome.report)}\n` : text);
    return outcome.exit;
  } catch (error) {
    if (error instanceof UsageError) {
      context.stderr(`ocsp-stapler ${name}: ${error.message}\n\n${command.help}`);
      return EXIT.failure;
    }
    const report = failureReport(error);
    if (json) context.stdout(`${JSON.stringify(report)}\n`);
    else context.stderr(renderText(report, context.clock.now()));
    return EXIT.failure;
  }
}

/** The controller, the reloader and the responder print no report: they run until stopped, logging JSON lines; `status` prints its own table. */
async function runServiceCommand(name: string, help: string, run: () => Promise<ExitStatus | "help">, context: CommandContext): Promise<ExitStatus> {
  try {
    const outcome = await run();
    if (outcome === "help") context.stdout(help);
    return outcome === "help" ? EXIT.good : outcome;
  } catch (error) {
    const usage = error instanceof UsageError;
    context.stderr(`ocsp-stapler ${name}: ${error instanceof Error ? error.message : String(error)}\n${usage ? `\n${help}` : ""}`);
    return EXIT.failure;
  }
}

/** The real process's streams, clock and (lazily) HTTP transport. */
export function processContext(): CommandContext {
  let transport: UndiciTransport | undefined;
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    clock: systemClock,
    transport: () => (transport ??= new UndiciTransport()),
    colour: process.stdout.isTTY && (process.env.NO_COLOR ?? "") === "",
  };
}
