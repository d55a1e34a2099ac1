import { spawn } from "node:child_process";

/**
 * `openssl s_client -status`: what a real TLS client sees of the staple. Runs
 * with stdin closed so it disconnects right after the handshake.
 */
export function sClientStatus(port: number, extraArgs: readonly string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", "-status", ...extraArgs], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr.on("data", (chunk: Buffer) => { output += chunk.toString(); });
    const timer = setTimeout(() => { child.kill(); reject(new Error(`s_client hung:\n${output}`)); }, 15_000);
    child.once("exit", () => { clearTimeout(timer); resolve(output); });
    child.stdin.end();
  });
}
