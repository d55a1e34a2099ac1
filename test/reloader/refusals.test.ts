// What the reloader refuses to hand nginx, with a real responder's staples and a real
// directory: a staple past its usable end (even within the engine's clock skew), and
// an expired staple that a failed configuration test would otherwise put back.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { NginxControl } from "../../src/reloader/nginx-control.ts";
import { NginxStapleDir } from "../../src/reloader/nginx-staple-dir.ts";
import { NginxTarget } from "../../src/reloader/nginx-target.ts";
import { checkStaple } from "../../src/reloader/staple-check.ts";
import type { StaplePair } from "../../src/reloader/staple-pair.ts";
import { ReloaderFixture } from "../support/reloader-fixture.ts";
import { removeTempDir } from "../support/tmp.ts";

void describe("the reloader's refusals", () => {
  let fixture: ReloaderFixture;
  let dir: string;
  let pair: StaplePair;

  before(async () => {
    fixture = await ReloaderFixture.create("refusals");
    ({ dir, pair } = await fixture.mountedPair("refusals"));
  });
  after(async () => {
    await fixture.cleanup();
    await removeTempDir(dir);
  });

  void it("a staple one minute past its usable end is Expired, though the engine's skew would still accept it", async () => {
    const fresh = await checkStaple(pair, [], new Date());
    assert.ok(fresh.kind === "verified", fresh.kind);
    const late = await checkStaple(pair, [], new Date(fresh.response.usableUntil.getTime() + 60_000));
    assert.deepEqual(late.kind === "rejected" ? late.reason : late.kind, "Expired");
  });

  void it("a withdrawal stays done when the configuration test fails: the expired staple is not put back for nginx's next start", async () => {
    const check = await checkStaple(pair, [], new Date());
    assert.ok(check.kind === "verified");
    const staples = new NginxStapleDir(join(dir, "staples"));
    const target = new NginxTarget(staples, new NginxControl(["false"], { kind: "pid-file", path: join(dir, "nginx.pid") }));
    mkdirSync(staples.dir, { recursive: true });
    staples.install("web", check.response, pair.staplePath);
    const report = await target.apply([{ kind: "withdraw", pair }]);
    assert.deepEqual(report.failed.map((failure) => failure.reason), ["NginxConfigTestFailed"]);
    assert.ok(!existsSync(staples.staplePath("web")) && !existsSync(staples.snippetPath("web")), "neither the staple nor its snippet is back");
  });

  void it("a new staple is taken back when the configuration test fails: nginx never loads a batch it refused", async () => {
    const check = await checkStaple(pair, [], new Date());
    assert.ok(check.kind === "verified");
    const staples = new NginxStapleDir(join(dir, "staples-2"));
    mkdirSync(staples.dir, { recursive: true });
    const target = new NginxTarget(staples, new NginxControl(["false"], { kind: "pid-file", path: join(dir, "nginx.pid") }));
    const report = await target.apply([{ kind: "install", pair, response: check.response }]);
    assert.deepEqual(report.failed.map((failure) => failure.reason), ["NginxConfigTestFailed"]);
    assert.ok(!existsSync(staples.snippetPath("web")));
  });

  void it("a staple path that is a FIFO is refused at once, never read (it would block the loop and /healthz)", async () => {
    const fifo = join(dir, "fifo.ocsp");
    execFileSync("mkfifo", [fifo]);
    const check = await checkStaple({ ...pair, staplePath: fifo }, [], new Date());
    assert.deepEqual(check.kind === "rejected" ? [check.reason, /not a regular file/.test(check.message)] : check.kind, ["BadInput", true]);
  });
});
