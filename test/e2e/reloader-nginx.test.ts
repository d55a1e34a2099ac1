// The reloader as a sidecar for nginx, all real: an `openssl ocsp` responder,
// a Secret volume laid out and updated exactly as the kubelet does, a Debian
// nginx whose server block has `include <dir>/*.conf;`, and `ocsp-stapler
// reloader` as a process. The snippet is in place before nginx starts; a new
// staple is served after a graceful reload by the same master; a bad one is
// never written; a withdrawn one is removed and nginx still reloads.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { KubeletVolume } from "../support/kubelet-volume.ts";
import type { IncludingNginx, PreparedNginx } from "../support/nginx-include.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import { NGINX, skipUnlessInstalled } from "../support/programs.ts";
import { NginxReloaderRig } from "../support/nginx-reloader-rig.ts";
import type { ReloaderFixture } from "../support/reloader-fixture.ts";
import { localGet } from "../support/local-get.ts";
import { metricValue, servedThisUpdate, startReloaderProcess, type ReloaderProcess } from "../support/reloader-process.ts";
import { jsonOf, runCli } from "../support/run-cli.ts";
import { waitFor } from "../support/wait-for.ts";

const skip = skipUnlessInstalled(NGINX);
const run = promisify(execFile);

void describe("reloader --server nginx: snippet, staple file, config test, graceful reload", { skip }, () => {
  let rig: NginxReloaderRig<ReloaderProcess>;
  let fixture: ReloaderFixture;
  let stapleDir: string;
  let volume: KubeletVolume;
  let prepared: PreparedNginx;
  let nginx: IncludingNginx;
  let reloader: ReloaderProcess;
  let current: { der: Uint8Array; thisUpdate: string };

  const files = (staple?: Uint8Array): Record<string, Uint8Array | string> => rig.files(staple);
  const reloads = async (): Promise<number> => metricValue(await reloader.metrics(), 'ocsp_stapler_reloader_nginx_reloads_total{result="reloaded"}') ?? 0;
  const pushes = async (): Promise<number> => metricValue(await reloader.metrics(), 'ocsp_stapler_reloader_pushes_total{server="nginx"}') ?? 0;

  before(async () => {
    rig = await NginxReloaderRig.start("rl-nginx", startReloaderProcess, ["--name", "web", "--interval", "60s"]);
    ({ fixture, stapleDir, volume, prepared, reloader } = rig);
    current = rig.first;
  });

  after(() => rig.cleanup());

  void it("writes the verified staple and its snippet before nginx starts (tested, no nginx to reload yet)", async () => {
    assert.deepEqual(new Uint8Array(await readFile(join(stapleDir, "web.der"))), current.der);
    const snippet = await readFile(join(stapleDir, "web.conf"), "utf8");
    assert.match(snippet, /^ssl_stapling on;$/m);
    assert.match(snippet, new RegExp(`^ssl_stapling_file ${join(stapleDir, "web.der")};$`, "m"));
    assert.ok(reloader.logs.lines.some((line) => line.msg === "nginx is not running yet: it loads the staple when it starts"));
    nginx = await prepared.start();
  });

  void it("nginx staples its very first handshake; s_client and check agree", async () => {
    const output = await sClientStatus(nginx.port);
    assert.match(output, /OCSP Response Status: successful \(0x0\)/);
    assert.match(output, /Cert Status: good/);
    const checked = await runCli(["check", `127.0.0.1:${nginx.port}`, "--servername", "localhost", "--json"]);
    assert.equal(checked.status, 0, checked.stdout + checked.stderr);
    assert.equal(jsonOf(checked).thisUpdate, current.thisUpdate);
  });

  void it("a new staple swapped into the volume is served after one graceful reload by the same master", async () => {
    const [reloadsBefore, pushesBefore] = [await reloads(), await pushes()];
    current = await fixture.staple();
    const mark = reloader.logs.lines.length;
    await volume.update(files(current.der));
    await waitFor(async () => (await servedThisUpdate(nginx.port)) === current.thisUpdate || undefined, `nginx to serve thisUpdate ${current.thisUpdate}`);
    const pushed = await reloader.logs.waitFor((line) => line.msg === "staple pushed", "the push", mark);
    assert.deepEqual([pushed.name, pushed.thisUpdate, pushed.serial, pushed.server], ["web", current.thisUpdate, fixture.leaf.serialHex, "nginx"]);
    assert.equal(await reloads(), reloadsBefore + 1, "exactly one reload");
    assert.equal(await pushes(), pushesBefore + 1);
    assert.ok(nginx.alive());
    assert.equal((await readFile(prepared.pidFile, "utf8")).trim(), String(nginx.masterPid), "the same master: a reload, not a restart");
    assert.match(await prepared.errorLog(), /signal 1 \(SIGHUP\) received/);
  });

  const badStaples: { name: string; code: string; make: () => Promise<Uint8Array> }[] = [
    { name: "a truncated staple", code: "MalformedResponse", make: async () => (await fixture.staple()).der.subarray(0, 200) },
    { name: "a staple for another certificate", code: "CertIDMismatch", make: async () => (await fixture.staple(fixture.other)).der },
  ];
  for (const bad of badStaples) {
    void it(`${bad.name} is never written: logged and counted as ${bad.code}, no reload, the previous staple stays`, async () => {
      const reloadsBefore = await reloads();
      const mark = reloader.logs.lines.length;
      await volume.update(files(await bad.make()));
      const refused = await reloader.logs.waitFor((line) => line.msg === "staple refused: not pushed", "the refusal", mark);
      assert.equal(refused.code, bad.code);
      assert.equal(metricValue(await reloader.metrics(), `ocsp_stapler_reloader_errors_total{reason="${bad.code}"}`), 1);
      assert.equal(await reloads(), reloadsBefore);
      assert.deepEqual(new Uint8Array(await readFile(join(stapleDir, "web.der"))), current.der);
      assert.equal(await servedThisUpdate(nginx.port), current.thisUpdate);
    });
  }

  void it("a staple withdrawn from the volume: snippet and file removed, config test passes, nginx reloads and staples nothing", async () => {
    const reloadsBefore = await reloads();
    const mark = reloader.logs.lines.length;
    await volume.update(files());
    await reloader.logs.waitFor((line) => line.msg === "staple withdrawn", "the withdrawal", mark);
    assert.equal(existsSync(join(stapleDir, "web.conf")), false);
    assert.equal(existsSync(join(stapleDir, "web.der")), false);
    await waitFor(async () => (await servedThisUpdate(nginx.port)) === "none" || undefined, "nginx to stop stapling");
    assert.equal(await reloads(), reloadsBefore + 1);
    const [binary = "nginx", ...args] = prepared.testCommand.split(" ");
    await run(binary, args); // throws if the configuration no longer passes
    assert.ok(nginx.alive());
    assert.equal((await readFile(prepared.pidFile, "utf8")).trim(), String(nginx.masterPid));
  });

  void it("a staple mounted again is served again", async () => {
    current = await fixture.staple();
    await volume.update(files(current.der));
    await waitFor(async () => (await servedThisUpdate(nginx.port)) === current.thisUpdate || undefined, "nginx to staple again");
  });

  void it("a burst of three swaps costs one reload and ends with the last staple served", async () => {
    const staples = [await fixture.staple(), await fixture.staple(), await fixture.staple()];
    const [reloadsBefore, pushesBefore] = [await reloads(), await pushes()];
    const mark = reloader.logs.lines.length;
    for (const staple of staples) await volume.update(files(staple.der));
    current = staples[2] ?? current;
    await reloader.logs.waitFor((line) => line.msg === "staple pushed" && line.thisUpdate === current.thisUpdate, "the push of the last staple", mark);
    await waitFor(async () => (await servedThisUpdate(nginx.port)) === current.thisUpdate || undefined, "nginx to serve the last staple");
    assert.equal(await reloads(), reloadsBefore + 1, "one reload for the burst");
    assert.equal(await pushes(), pushesBefore + 1);
  });

  void it("serves /healthz and /metrics", async () => {
    assert.equal((await localGet(reloader.metricsPort, "/healthz")).status, 200);
    const metrics = await reloader.metrics();
    assert.ok((metricValue(metrics, 'ocsp_stapler_reloader_staple_age_seconds{name="web"}') ?? -1) >= 0);
    assert.match(metrics, /^ocsp_stapler_reloader_last_push_timestamp_seconds\{name="web"\} \d/m);
  });
});
