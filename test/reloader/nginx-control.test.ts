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

  void it("no pid file: nginx is not running yet, nothing is signalled", async () => {
    const control = new NginxControl(undefined, { kind: "pid-file", path: join(dir, "absent.pid") });
    assert.equal(await control.reload(), "not-running");
  });

  void it("a stale pid file naming another process: that process is never signalled", async () => {
    // A process whose default SIGHUP action is to exit, as the reloader's own would be.
    const other = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const pidFile = join(dir, "stale.pid");
      await writeFile(pidFile, `${other.pid ?? 0}\n`);
      const control = new NginxControl(undefined, { kind: "pid-file", path: pidFile });
      assert.equal(await control.reload(), "not-running");
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(other.exitCode, null, "the other process still runs");
      assert.equal(other.signalCode, null);
    } finally {
      await stopProcess(other);
    }
  });
});
