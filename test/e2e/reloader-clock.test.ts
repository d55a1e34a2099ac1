// The reloader in-process, with the one thing mocked that cannot be real: the
// clock, moved past the staples' nextUpdate. Everything else is real: the
// `openssl ocsp` responder, the kubelet volume layout, nginx and HAProxy.
// Also: a configuration test that fails stops the reload and leaves no file.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { CommandContext } from "../../src/cli/command-context.ts";
import { runReloader } from "../../src/cli/reloader-command.ts";
import { systemClock, type Scheduler, type Timer, type TimerOptions } from "../../src/ocsp/clock.ts";
import { startHaproxy, type RunningHaproxy } from "../support/haproxy.ts";
import { KubeletVolume } from "../support/kubelet-volume.ts";
import { prepareIncludingNginx, type IncludingNginx, type PreparedNginx } from "../support/nginx-include.ts";
import { HAPROXY, NGINX, skipUnlessInstalled } from "../support/programs.ts";
import { NginxReloaderRig } from "../support/nginx-reloader-rig.ts";
import { ReloaderFixture } from "../support/reloader-fixture.ts";
import { localGet } from "../support/local-get.ts";
import { capturingLogger, LogLines, metricValue, servedThisUpdate } from "../support/reloader-process.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";
import { waitFor } from "../support/wait-for.ts";

const DAY_MS = 86_400_000;
const noNginx = skipUnlessInstalled(NGINX);
const noHaproxy = skipUnlessInstalled(HAPROXY);

/** A clock that runs with real time, shifted by `offsetMs`; its timers are real. */
class ShiftedClock implements Scheduler {
  offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  setTimer(ms: number, fn: () => void, options?: TimerOptions): Timer {
    return systemClock.setTimer(ms, fn, options);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return systemClock.sleep(ms, signal);
  }
}

/** `ocsp-stapler reloader` in this process, with the shifted clock and captured logs. */
async function startInProcess(args: readonly string[], clock: Scheduler): Promise<{ logs: LogLines; metrics: () => Promise<string>; stop: () => Promise<void> }> {
  const logs = new LogLines();
  let stop: (value: unknown) => void = () => undefined;
  let port = 0;
  const context: CommandContext = { stdout: () => undefined, stderr: () => undefined, clock, transport: () => { throw new Error("the reloader never fetches"); } };
  const done = runReloader([...args, "--interval", "1s", "--metrics-addr", "127.0.0.1:0"], context, {
    stop: new Promise((resolve) => { stop = resolve; }),
    logger: capturingLogger(logs),
    onListening: (bound) => { port = bound; },
  });
  await waitFor(async () => (port !== 0 && (await localGet(port, "/readyz")).status === 200) || undefined, `the reloader's first sync\n${logs.dump()}`);
  return { logs, metrics: async () => (await localGet(port, "/metrics")).body, stop: async () => { stop(undefined); await done; } };
}

void describe("reloader with the clock past nextUpdate (nginx): the expired staple is withdrawn and a new expired one never written", { skip: noNginx }, () => {
  const clock = new ShiftedClock();
  let rig: NginxReloaderRig<Awaited<ReturnType<typeof startInProcess>>>;
  let fixture: ReloaderFixture;
  let volume: KubeletVolume;
  let nginx: IncludingNginx;
  let reloader: Awaited<ReturnType<typeof startInProcess>>;
  let stapleDir: string;

  before(async () => {
    rig = await NginxReloaderRig.start("rl-clock", (args) => startInProcess(args, clock));
    ({ fixture, volume, reloader, stapleDir } = rig);
    nginx = await rig.prepared.start();
  });

  after(() => rig.cleanup());

  void it("eight days on (nextUpdate is thisUpdate + 7 days), the staple in place is withdrawn: nginx reloads and staples nothing", async () => {
    assert.notEqual(await servedThisUpdate(nginx.port), "none");
    clock.offsetMs = 8 * DAY_MS;
    const withdrawn = await reloader.logs.waitFor((line) => line.msg === "the staple in place no longer verifies: removing it from nginx", "the withdrawal");
    assert.equal(withdrawn.code, "Expired");
    const refused = await reloader.logs.waitFor((line) => line.msg === "staple refused: not pushed", "the mounted staple refused");
    assert.equal(refused.code, "Expired");
    await waitFor(async () => (await servedThisUpdate(nginx.port)) === "none" || undefined, "nginx to stop stapling");
    assert.equal(existsSync(join(stapleDir, "tls.conf")), false);
    assert.equal(existsSync(join(stapleDir, "tls.der")), false);
    assert.ok(nginx.alive());
  });

  void it("a freshly fetched staple that is expired by this clock is never written; the error is counted once, not at every poll", async () => {
    const mark = reloader.logs.lines.length;
    await volume.update({ "tls.crt": fixture.chainPem, "tls.key": fixture.leaf.keyPem, "tls.ocsp": (await fixture.staple()).der });
    const refused = await reloader.logs.waitFor((line) => line.msg === "staple refused: not pushed", "the refusal", mark);
    assert.equal(refused.code, "Expired");
    // Two more polls (1 s apart) re-check the same file; neither counts it again.
    const after = reloader.logs.lines.length;
    await waitFor(() => reloader.logs.lines.slice(after).filter((line) => line.msg === "synced: nothing to change").length >= 2 || undefined, "two polls");
    assert.equal(metricValue(await reloader.metrics(), 'ocsp_stapler_reloader_errors_total{reason="Expired"}'), 2, "the first mounted file, and the new one: once each");
    assert.equal(existsSync(join(stapleDir, "tls.der")), false);
    assert.equal(await servedThisUpdate(nginx.port), "none");
    assert.equal(metricValue(await reloader.metrics(), 'ocsp_stapler_reloader_staple_age_seconds{name="tls"}'), undefined, "no staple in use, no age");
  });
});

void describe("reloader with the clock past nextUpdate (HAProxy): an expired staple is never pushed", { skip: noHaproxy }, () => {
  const clock = new ShiftedClock();
  let fixture: ReloaderFixture;
  let dir: string;
  let haproxy: RunningHaproxy;
  let volume: KubeletVolume;
  let reloader: Awaited<ReturnType<typeof startInProcess>>;
  let first: string;

  before(async () => {
    fixture = await ReloaderFixture.create("rl-clock-hx");
    dir = await makeTempDir("rl-clock-hx");
    const staple = await fixture.staple();
    first = staple.thisUpdate;
    volume = await KubeletVolume.create(join(dir, "tls"), { "tls.crt": fixture.chainPem, "tls.ocsp": staple.der });
    haproxy = await startHaproxy({ chainPem: fixture.chainPem, keyPem: fixture.leaf.keyPem, staple: staple.der });
    reloader = await startInProcess(["--server", "haproxy", "--cert", volume.dir, "--staple", volume.path("tls.ocsp"), "--haproxy-socket", haproxy.socketPath], clock);
  });

  after(async () => {
    await reloader.stop();
    await haproxy.stop();
    await fixture.cleanup();
    await removeTempDir(dir);
  });

  void it("a new staple that is already expired (by the clock) is refused with Expired and HAProxy keeps the one it has", async () => {
    const pushes = metricValue(await reloader.metrics(), 'ocsp_stapler_reloader_pushes_total{server="haproxy"}');
    assert.equal(pushes, 1, "the startup push");
    clock.offsetMs = 8 * DAY_MS;
    const mark = reloader.logs.lines.length;
    await volume.update({ "tls.crt": fixture.chainPem, "tls.ocsp": (await fixture.staple()).der });
    const refused = await reloader.logs.waitFor((line) => line.msg === "staple refused: not pushed" && line.code === "Expired", "the refusal", mark);
    assert.match(String(refused.reason), /nextUpdate .* has passed/);
    assert.equal(metricValue(await reloader.metrics(), 'ocsp_stapler_reloader_pushes_total{server="haproxy"}'), pushes);
    assert.equal(await servedThisUpdate(haproxy.port), first);
  });
});

void describe("reloader --nginx-test-command that fails: no reload, counted, no file of ours left behind", { skip: noNginx }, () => {
  let fixture: ReloaderFixture;
  let dir: string;
  let prepared: PreparedNginx;
  let reloader: Awaited<ReturnType<typeof startInProcess>>;

  before(async () => {
    fixture = await ReloaderFixture.create("rl-test-fails");
    dir = await makeTempDir("rl-test-fails");
    const volume = await KubeletVolume.create(join(dir, "tls"), { "tls.crt": fixture.chainPem, "tls.key": fixture.leaf.keyPem, "tls.ocsp": (await fixture.staple()).der });
    prepared = await prepareIncludingNginx({ certPath: volume.path("tls.crt"), keyPath: volume.path("tls.key"), stapleDir: join(dir, "out") });
    await prepared.start();
    reloader = await startInProcess(["--server", "nginx", "--cert", volume.dir, "--staple", volume.path("tls.ocsp"), "--nginx-staple-dir", join(dir, "out"), "--nginx-pid-file", prepared.pidFile, "--nginx-test-command", "false"], new ShiftedClock());
  });

  after(async () => {
    await reloader.stop();
    await prepared.cleanup();
    await fixture.cleanup();
    await removeTempDir(dir);
  });

  void it("logs NginxConfigTestFailed, counts it, never signals nginx and puts the directory back as it was", async () => {
    const failed = await reloader.logs.waitFor((line) => line.code === "NginxConfigTestFailed", "the failed test");
    assert.equal(failed.msg, "could not hand the staple to the server");
    const metrics = await reloader.metrics();
    assert.ok((metricValue(metrics, 'ocsp_stapler_reloader_errors_total{reason="NginxConfigTestFailed"}') ?? 0) >= 1);
    assert.equal(metricValue(metrics, 'ocsp_stapler_reloader_nginx_reloads_total{result="reloaded"}'), undefined);
    assert.doesNotMatch(await prepared.errorLog(), /SIGHUP/);
    assert.equal(existsSync(join(dir, "out", "tls.conf")), false);
    assert.equal(existsSync(join(dir, "out", "tls.der")), false);
  });
});
