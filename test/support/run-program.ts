import { spawn } from "node:child_process";

/** How a client program ended: its exit status and everything it printed, stdout and stderr as they came. */
export interface ProgramRun {
  readonly code: number;
  readonly output: string;
}

/**
 * Runs a client program with no input and collects what it prints. A client
 * that hangs is killed after `killAfterMs` and fails the test with what it
 * printed; one killed by any signal rejects the same way, never resolves
 * with a made-up exit code.
 */
export function runProgram(binary: string, args: readonly string[], options: { readonly env?: NodeJS.ProcessEnv; readonly killAfterMs?: number } = {}): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], ...(options.env === undefined ? {} : { env: options.env }) });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    const timer = options.killAfterMs === undefined ? undefined : setTimeout(() => { child.kill("SIGKILL"); }, options.killAfterMs);
    child.once("error", (error) => { clearTimeout(timer); reject(error); });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (signal !== null) reject(new Error(`${binary} ${args.join(" ")} killed by ${signal}:\n${output}`));
      else resolve({ code: code ?? -1, output });
    });
  });
}
