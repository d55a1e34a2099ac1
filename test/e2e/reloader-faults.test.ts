// The reloader's faults (issue 10), with real processes: Debian's HAProxy
// SIGKILLed and started again (new pid, new runtime API socket at the same
// path) gets the staple again; the nginx master SIGKILLed with its workers
// and started again staples from its first handshake and still takes the
// next staple by a reload; 100 kubelet volume swaps within a second cost a
// bounded number of pushes and reloads and end with the last staple served;
// a staple that disappears from the volume is taken away from HAProxy (nginx:
// reloader-nginx.test.ts, "a staple withdrawn from the volume"). Every wait is
// for a positive signal (a handshake that shows the expected staple, a log
// line), never a sleep.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseResponse } from "../../src/ocsp/response-parser.ts";
import { haproxyCommand } from "../../src/reloader/haproxy-runtime.ts";
import { startHaproxy, type RunningHaproxy } from "../support/haproxy.ts";
import { KubeletVolume } from "../support/kubelet-volume.ts";
import type { IncludingNginx, PreparedNginx } from "../support/nginx-include.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import { HAPROXY, NGINX, skipUnlessInstalled } from "../support/programs.ts";
import { NginxReloaderRig } from "../support/nginx-reloader-rig.ts";
import { ReloaderFixture } from "../support/reloader-fixture.ts";
import { metricValue, servedStaple, servedThisUpdate, startReloaderProcess, type ReloaderProcess } from "../support/reloader-process.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";
import { waitFor } from "../support/wait-for.ts";

const SWAPS = 100;
/** The most pushes or reloads a burst of SWAPS swaps may cost: the watcher coalesces a burst into one sync, give or take a sync that starts mid-burst on a loaded machine. */
const BURST_BOUND = 3;

/** thisUpdate as `openssl s_client -status` prints it: "Dec  7 13:18:32 2026 GMT". */
function opensslTime(iso: string): string {
  const at = new Date(iso);
  const month = at.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
  return `${month} ${String(at.getUTCDate()).padStart(2, " ")} ${at.toISOString().slice(11, 19)} ${at.getUTCFullYear()} GMT`;
}

function thisUpdateOf(der: Uint8Array): string {
  return parseResponse(der).responses[0]?.thisUpdate.toISOString() ?? "none";
}

/** SWAPS kubelet swaps of the staple, back to back; resolves with how long they took. */
async function swapBurst(staples: readonly Uint8Array[], swap: (der: Uint8Array) => Promise<void>): Promise<number> {
  const started = performance.now();
  for (const der of staples) await swap(der);
  return performance.now() - started;
}

void describe("reloader faults, HAProxy: restarted, staple withdrawn, a burst of swaps", { skip: skipUnlessInstalled(HAPROXY) }, () => {
  let fixture: ReloaderFixture;
  let dir: string;
  let certs: KubeletVolume;
  let companion: KubeletVolume;
  let haproxy: RunningHaproxy;
  let reloader: ReloaderProcess;
  let current: { der: Uint8Array; thisUpdate: string };

  const pushes = async (): Promise<number> => metricValue(await reloader.metrics(), 'ocsp_stapler_reloader_pushes_total{server="haproxy"}') ?? 0;
  const haproxyPid = async (): Promise<number> => Number(/^Pid: (\d+)$/m.exec(await haproxyCommand(haproxy.socketPath, "show info"))?.[1]);

  before(async () => {
    fixture = await ReloaderFixture.create("rl-faults-hx");
    dir = await makeTempDir("rl-faults-hx");
    current = await fixture.staple();
    // The TLS Secret and the companion in volumes of their own (the companion `optional: true`, as
    // DESIGN.md says to mount it): HAProxy finds no `tls.crt.ocsp` beside its certificate, so whatever
    // it serves, it has from the reloader, and a restarted HAProxy has nothing.
    certs = await KubeletVolume.create(join(dir, "tls"), { "tls.crt": fixture.chainPem, "tls.crt.key": fixture.leaf.keyPem });
    companion = await KubeletVolume.create(join(dir, "ocsp"), { "tls.ocsp": current.der });
    haproxy = await startHaproxy({ crtPath: certs.path("tls.crt") });
    reloader = await startReloaderProcess(["--server", "haproxy", "--cert", certs.path("tls.crt"), "--staple", companion.path("tls.ocsp"), "--haproxy-socket", haproxy.socketPath, "--interval", "1s"]);
  });

  after(async () => {
    await reloader.stop();
    await haproxy.stop();
    await fixture.cleanup();
    await removeTempDir(dir);
  });

  void it("a HAProxy that started without a staple gets the mounted one", async () => {
    await waitFor(async () => (await servedThisUpdate(haproxy.port)) === current.thisUpdate || undefined, `HAProxy to serve thisUpdate ${current.thisUpdate}`);
  });

  void it("HAProxy SIGKILLed and started again (new pid, new socket) is noticed at the next --interval and gets the staple again; s_client -status sees it", async () => {
    const [pidBefore, pushesBefore] = [await haproxyPid(), await pushes()];
    const mark = reloader.logs.lines.length;
    await haproxy.restart();
    assert.notEqual(await haproxyPid(), pidBefore, "a new HAProxy process answers on the socket");
    await waitFor(async () => (await servedThisUpdate(haproxy.port)) === current.thisUpdate || undefined, `the new HAProxy to serve thisUpdate ${current.thisUpdate}`);
    const output = await sClientStatus(haproxy.port);
    assert.match(output, /OCSP Response Status: successful \(0x0\)/);
    assert.match(output, /Cert Status: good/);
    assert.ok(output.includes(`This Update: ${opensslTime(current.thisUpdate)}`), `s_client sees our staple (thisUpdate ${current.thisUpdate}):\n${output}`);
    const lost = await reloader.logs.waitFor((line) => line.msg === "the server no longer holds the staple we handed it (restarted?): handing it over again", "the lost staple noticed", mark);
    assert.match(String(lost.reason), /holds no staple/);
    await reloader.logs.waitFor((line) => line.msg === "staple pushed" && line.thisUpdate === current.thisUpdate, "the push", mark);
    assert.equal(await pushes(), pushesBefore + 1, "pushed again once");
  });

  void it("a staple that disappears from the volume is withdrawn: HAProxy (the same process) serves none", async () => {
    const pid = await haproxyPid();
    const mark = reloader.logs.lines.length;
    await companion.update({});
    await reloader.logs.waitFor((line) => line.msg === "staple withdrawn from the volume: removing it from haproxy", "the withdrawal decided", mark);
    await waitFor(async () => (await servedThisUpdate(haproxy.port)) === "none" || undefined, `HAProxy to staple nothing\nreloader log:\n${reloader.logs.dump()}`);
    await reloader.logs.waitFor((line) => line.msg === "staple withdrawn" && line.server === "haproxy", "the withdrawal done", mark);
    assert.match(await sClientStatus(haproxy.port), /OCSP response: no response sent/);
    assert.equal(await haproxyPid(), pid, "no restart, no reload");
    const metrics = await reloader.metrics();
    assert.equal(metricValue(metrics, 'ocsp_stapler_reloader_staple_in_use{name="tls"}'), 0);
    assert.equal(metricValue(metrics, 'ocsp_stapler_reloader_errors_total{reason="HaproxyWithdrawFailed"}'), undefined);
  });

  void it("a staple mounted again is served again", async () => {
    current = await fixture.staple();
    await companion.update({ "tls.ocsp": current.der });
    await waitFor(async () => (await servedThisUpdate(haproxy.port)) === current.thisUpdate || undefined, `HAProxy to serve thisUpdate ${current.thisUpdate}`);
  });

  void it(`${SWAPS} volume swaps within about a second: at most ${BURST_BOUND} pushes, and the last staple is the one served`, async (t) => {
    const staples = await fixture.staples(SWAPS);
    const last = staples.at(-1) ?? assert.fail("no staples");
    const pushesBefore = await pushes();
    const elapsed = await swapBurst(staples, (der) => companion.update({ "tls.ocsp": der }));
    await waitFor(async () => Buffer.from((await servedStaple(haproxy.port)) ?? []).equals(last) || undefined, "HAProxy to serve the last staple, byte for byte");
    const pushed = (await pushes()) - pushesBefore;
    t.diagnostic(`${SWAPS} swaps in ${elapsed.toFixed(0)} ms cost ${pushed} push(es); last thisUpdate ${thisUpdateOf(last)}`);
    assert.ok(pushed >= 1 && pushed <= BURST_BOUND, `${pushed} pushes for ${SWAPS} swaps`);
  });
});

void describe("reloader faults, HAProxy restarted with an older staple on disk (its own <crt>.ocsp)", { skip: skipUnlessInstalled(HAPROXY) }, () => {
  let fixture: ReloaderFixture;
  let dir: string;
  let haproxy: RunningHaproxy;
  let reloader: ReloaderProcess;

  before(async () => {
    fixture = await ReloaderFixture.create("rl-faults-hx-old");
    dir = await makeTempDir("rl-faults-hx-old");
    const old = await fixture.staple();
    const volume = await KubeletVolume.create(join(dir, "tls"), { "tls.crt": fixture.chainPem, "tls.ocsp": (await fixture.staple()).der });
    // HAProxy's certificate and staple file live in its own directory; the reloader follows the volume.
    haproxy = await startHaproxy({ chainPem: fixture.chainPem, keyPem: fixture.leaf.keyPem, staple: old.der });
    reloader = await startReloaderProcess(["--server", "haproxy", "--cert", volume.dir, "--staple", volume.path("tls.ocsp"), "--haproxy-socket", haproxy.socketPath, "--interval", "1s"]);
  });

  after(async () => {
    await reloader.stop();
    await haproxy.stop();
    await fixture.cleanup();
    await removeTempDir(dir);
  });

  void it("the restarted HAProxy serves the older staple it loaded until the reloader notices and pushes the mounted one again", async () => {
    const mounted = String(reloader.logs.lines.find((line) => line.msg === "staple pushed")?.thisUpdate);
    assert.notEqual(mounted, "undefined", "the startup push is logged");
    await waitFor(async () => (await servedThisUpdate(haproxy.port)) === mounted || undefined, "HAProxy to serve the mounted staple");
    const mark = reloader.logs.lines.length;
    await haproxy.restart();
    await waitFor(async () => (await servedThisUpdate(haproxy.port)) === mounted || undefined, `the new HAProxy to serve thisUpdate ${mounted}`);
    const lost = await reloader.logs.waitFor((line) => line.msg === "the server no longer holds the staple we handed it (restarted?): handing it over again", "the older staple noticed", mark);
    assert.match(String(lost.reason), /holds an older staple/);
    assert.equal(metricValue(await reloader.metrics(), 'ocsp_stapler_reloader_pushes_total{server="haproxy"}'), 2, "the startup push and one after the restart");
  });
});

void describe("reloader faults, nginx: the master restarted, a burst of swaps", { skip: skipUnlessInstalled(NGINX) }, () => {
  let rig: NginxReloaderRig<ReloaderProcess>;
  let fixture: ReloaderFixture;
  let stapleDir: string;
  let volume: KubeletVolume;
  let prepared: PreparedNginx;
  let nginx: IncludingNginx;
  let reloader: ReloaderProcess;
  let current: { der: Uint8Array; thisUpdate: string };

  const files = (staple: Uint8Array): Record<string, Uint8Array | string> => rig.files(staple);
  const reloads = async (): Promise<number> => metricValue(await reloader.metrics(), 'ocsp_stapler_reloader_nginx_reloads_total{result="reloaded"}') ?? 0;

  before(async () => {
    rig = await NginxReloaderRig.start("rl-faults-nx", startReloaderProcess, ["--name", "web", "--interval", "60s"]);
    ({ fixture, stapleDir, volume, prepared, reloader } = rig);
    current = rig.first;
    nginx = await prepared.start();
  });

  after(() => rig.cleanup());

  void it("a staple that arrives while nginx is down (master and workers SIGKILLed) is staged; the restarted master staples it from its first handshake", async () => {
    assert.equal(await servedThisUpdate(nginx.port), current.thisUpdate);
    const oldMaster = nginx.masterPid;
    await nginx.kill();
    current = await fixture.staple();
    const mark = reloader.logs.lines.length;
    await volume.update(files(current.der));
    // The reloader writes the staple, then cannot reload: the pid file names the dead master.
    const failed = await reloader.logs.waitFor((line) => line.code === "NginxReloadFailed", "the reload that cannot happen", mark);
    assert.match(String(failed.reason), new RegExp(`pid ${oldMaster}, which is not an nginx master`));
    assert.deepEqual(new Uint8Array(await readFile(join(stapleDir, "web.der"))), current.der, "the staged staple stays for nginx's next start");
    nginx = await prepared.start();
    assert.notEqual(nginx.masterPid, oldMaster);
    const output = await sClientStatus(nginx.port);
    assert.match(output, /OCSP Response Status: successful \(0x0\)/);
    assert.ok(output.includes(`This Update: ${opensslTime(current.thisUpdate)}`), `the first handshake of the new master is stapled with the new staple:\n${output}`);
    // The retry of the failed hand-over finds the new master through the pid file.
    await reloader.logs.waitFor((line) => line.msg === "staple pushed" && line.thisUpdate === current.thisUpdate, "the retried push", mark);
    assert.ok(nginx.alive());
  });

  void it("the next staple reaches the new master by one graceful reload: the reloader follows the pid file to it", async () => {
    const reloadsBefore = await reloads();
    current = await fixture.staple();
    const mark = reloader.logs.lines.length;
    await volume.update(files(current.der));
    await waitFor(async () => (await servedThisUpdate(nginx.port)) === current.thisUpdate || undefined, `the new master to serve thisUpdate ${current.thisUpdate}\nreloader log:\n${reloader.logs.dump()}`);
    await reloader.logs.waitFor((line) => line.msg === "staple pushed" && line.thisUpdate === current.thisUpdate, "the push", mark);
    assert.equal(await reloads(), reloadsBefore + 1);
    assert.ok(nginx.alive(), "the new master got SIGHUP (a graceful reload), not a signal that ended it");
    assert.equal((await readFile(prepared.pidFile, "utf8")).trim(), String(nginx.masterPid));
  });

  void it(`${SWAPS} volume swaps within about a second: at most ${BURST_BOUND} reloads, and the last staple is the one staged and served`, async (t) => {
    const staples = await fixture.staples(SWAPS);
    const last = staples.at(-1) ?? assert.fail("no staples");
    const reloadsBefore = await reloads();
    const elapsed = await swapBurst(staples, (der) => volume.update(files(der)));
    await waitFor(async () => Buffer.from((await servedStaple(nginx.port)) ?? []).equals(last) || undefined, "nginx to serve the last staple, byte for byte");
    assert.deepEqual(new Uint8Array(await readFile(join(stapleDir, "web.der"))), last);
    const reloaded = (await reloads()) - reloadsBefore;
    t.diagnostic(`${SWAPS} swaps in ${elapsed.toFixed(0)} ms cost ${reloaded} reload(s); last thisUpdate ${thisUpdateOf(last)}`);
    assert.ok(reloaded >= 1 && reloaded <= BURST_BOUND, `${reloaded} reloads for ${SWAPS} swaps`);
    assert.ok(nginx.alive());
  });
});
