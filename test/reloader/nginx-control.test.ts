// Reloading nginx by its pid file, without nginx: the safety rules around the pid.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
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
      await sleep(100);
      assert.equal(other.exitCode, null, "the other process still runs");
      assert.equal(other.signalCode, null);
    } finally {
      await stopProcess(other);
    }
  });
});
