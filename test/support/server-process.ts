import type { ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** Waits (up to 5 s) until a server process accepts connections on 127.0.0.1:port; false if it exited first. */
export async function waitListening(port: number, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) return false;
    if (await canConnect(port)) return true;
    await sleep(50);
  }
  return false;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => { resolve(false); });
  });
}

/** Stops a server process: SIGTERM, then SIGKILL if it has not exited within 5 s. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<boolean>((resolve) => child.once("exit", () => { resolve(true); }));
  child.kill("SIGTERM");
  // Unref'd: a pending timer must not keep the test process alive after a clean exit.
  const clean = await Promise.race([exited, sleep(5_000, false, { ref: false })]);
  if (!clean) child.kill("SIGKILL");
}
