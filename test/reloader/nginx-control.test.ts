// Reloading nginx by its pid file, without nginx: the safety rules around the pid.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NginxControl } from "../../src/reloader/nginx-control.ts";
import { stopProcess } from "../support/server-process.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";

void describe("reloading nginx through its pid file", () => {
  let dir: string;
  before(async () => { dir = await makeTempDir("nginx-control"); });
  after(async () => { await removeTempDir(dir); });

  const controlFor = async (pidText: string) => {
    const pidFile = join(dir, `${String(Math.random()).slice(2)}.pid`);
    await writeFile(pidFile, pidText);
    return new NginxControl(undefined, { kind: "pid-file", path: pidFile });
  };

  void it("no pid file: nginx is not running yet, nothing is signalled", async () => {
    const control = new NginxControl(undefined, { kind: "pid-file", path: join(dir, "absent.pid") });
    assert.equal(await control.reload(), "not-running");
  });

  void it("a pid file naming the reloader itself (a reused pid) is refused, and says why", async () => {
    const result = await (await controlFor(`${process.pid}\n`)).reload();
    assert.ok(result !== "not-running" && !result.ok);
    assert.match(result.detail, /not an nginx master/);
  });

  void it("a pid file naming pid 1 (nginx alone in its namespace) points at shareProcessNamespace", async () => {
    const result = await (await controlFor("1\n")).reload();
    assert.ok(result !== "not-running" && !result.ok);
    assert.match(result.detail, /shareProcessNamespace/);
  });

  void it("another process whose command line mentions nginx is never signalled", async () => {
    // Its default SIGHUP action is to exit, as the reloader's own would be; its $0 is "nginx".
    const other = spawn("bash", ["-c", "sleep 30", "nginx"], { stdio: "ignore" });
    try {
      const result = await (await controlFor(`${other.pid ?? 0}\n`)).reload();
      assert.ok(result !== "not-running" && !result.ok);
      // Instead of a pause: our own SIGTERM, sent after the reload, must be what ends it. A SIGHUP
      // from the reload would have reached it first (signals are delivered as they are sent).
      const ended = other.exitCode !== null || other.signalCode !== null
        ? Promise.resolve(other.signalCode)
        : new Promise<NodeJS.Signals | null>((resolve) => other.once("exit", (_code, signal) => { resolve(signal); }));
      other.kill("SIGTERM");
      assert.equal(await ended, "SIGTERM", "it was never sent SIGHUP");
    } finally {
      await stopProcess(other);
    }
  });
});
