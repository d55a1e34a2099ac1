// The reloader as a sidecar for HAProxy, all real: an `openssl ocsp`
// responder, a Secret volume laid out and updated exactly as the kubelet does,
// a Debian HAProxy with its runtime API socket, and `ocsp-stapler reloader`
// as a process. A new staple reaches clients without a reload; a bad one
// never reaches HAProxy.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { haproxyCommand } from "../../src/reloader/haproxy-runtime.ts";
import { startHaproxy, type RunningHaproxy } from "../support/haproxy.ts";
import { KubeletVolume } from "../support/kubelet-volume.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import { HAPROXY, skipUnlessInstalled } from "../support/programs.ts";
import { ReloaderFixture } from "../support/reloader-fixture.ts";
import { localGet } from "../support/local-get.ts";
import { metricValue, servedThisUpdate, startReloaderProcess, type ReloaderProcess } from "../support/reloader-process.ts";
import { jsonOf, runCli } from "../support/run-cli.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";
import { waitFor } from "../support/wait-for.ts";

// HAProxy comes from Debian's packages (apt-get install haproxy). Outside CI a
// missing haproxy skips these tests (with the reason); in CI it fails them.
const skip = skipUnlessInstalled(HAPROXY);

void describe("reloader --server haproxy: staples pushed over the runtime API", { skip }, () => {
  let fixture: ReloaderFixture;
  let dir: string;
  let volume: KubeletVolume;
  let haproxy: RunningHaproxy;
  let reloader: ReloaderProcess;
  let first: { der: Uint8Array; thisUpdate: string };
  let current: { der: Uint8Array; thisUpdate: string };

  before(async () => {
    fixture = await ReloaderFixture.create("rl-haproxy");
    dir = await makeTempDir("rl-haproxy");
    first = await fixture.staple();
    current = first;
    volume = await KubeletVolume.create(join(dir, "tls"), { "tls.crt": fixture.chainPem, "tls.ocsp": first.der });
    haproxy = await startHaproxy({ chainPem: fixture.chainPem, keyPem: fixture.leaf.keyPem, staple: first.der });
    reloader = await startReloaderProcess(["--server", "haproxy", "--cert", volume.dir, "--staple", volume.path("tls.ocsp"), "--haproxy-socket", haproxy.socketPath, "--interval", "60s"]);
  });

  after(async () => {
    await reloader.stop();
    await haproxy.stop();
    await fixture.cleanup();
    await removeTempDir(dir);
  });

  const pushes = async (): Promise<number | undefined> => metricValue(await reloader.metrics(), 'ocsp_stapler_reloader_pushes_total{server="haproxy"}');

  void it("HAProxy staples its first handshake (the .ocsp beside the certificate); s_client and check agree", async () => {
    const output = await sClientStatus(haproxy.port);
    assert.match(output, /OCSP Response Status: successful \(0x0\)/);
    assert.match(output, /Cert Status: good/);
    const checked = await runCli(["check", `127.0.0.1:${haproxy.port}`, "--servername", "localhost", "--json"]);
    assert.equal(checked.status, 0, checked.stdout + checked.stderr);
    assert.equal(jsonOf(checked).thisUpdate, first.thisUpdate);
    assert.equal(jsonOf(checked).serial, fixture.leaf.serialHex);
  });

  void it("a new staple swapped into the volume is pushed and served by the same process, without a reload", async () => {
    const before = await pushes();
    current = await fixture.staple();
    const mark = reloader.logs.lines.length;
    await volume.update({ "tls.crt": fixture.chainPem, "tls.ocsp": current.der });
    await waitFor(async () => (await servedThisUpdate(haproxy.port)) === current.thisUpdate || undefined, `HAProxy to serve thisUpdate ${current.thisUpdate}`);
    const pushed = await reloader.logs.waitFor((line) => line.msg === "staple pushed" && line.thisUpdate === current.thisUpdate, "the push", mark);
    assert.equal(pushed.serial, fixture.leaf.serialHex);
    assert.equal(pushed.staple, volume.path("tls.ocsp"));
    assert.equal(pushed.server, "haproxy");
    assert.equal(await pushes(), (before ?? 0) + 1);
    assert.ok(haproxy.alive(), "HAProxy still runs");
    const info = await haproxyCommand(haproxy.socketPath, "show info");
    assert.match(info, new RegExp(`^Pid: ${haproxy.pid}$`, "m"), "the same HAProxy process serves it: no reload, no new process");
    const checked = await runCli(["check", `127.0.0.1:${haproxy.port}`, "--servername", "localhost", "--json"]);
    assert.equal(checked.status, 0, checked.stdout + checked.stderr);
    assert.equal(jsonOf(checked).thisUpdate, current.thisUpdate);
  });

  const badStaples: { name: string; code: string; make: () => Promise<Uint8Array> }[] = [
    { name: "a truncated staple", code: "MalformedResponse", make: async () => (await fixture.staple()).der.subarray(0, 120) },
    { name: "a staple for another certificate", code: "CertIDMismatch", make: async () => (await fixture.staple(fixture.other)).der },
  ];
  for (const bad of badStaples) {
    void it(`${bad.name} is never pushed: logged and counted as ${bad.code}, the previous staple stays served`, async () => {
      const before = await pushes();
      const mark = reloader.logs.lines.length;
      await volume.update({ "tls.crt": fixture.chainPem, "tls.ocsp": await bad.make() });
      const refused = await reloader.logs.waitFor((line) => line.msg === "staple refused: not pushed", "the refusal", mark);
      assert.equal(refused.code, bad.code);
      assert.equal(typeof refused.reason, "string");
      const metrics = await reloader.metrics();
      assert.equal(metricValue(metrics, `ocsp_stapler_reloader_errors_total{reason="${bad.code}"}`), 1);
      assert.equal(metricValue(metrics, 'ocsp_stapler_reloader_errors_total{reason="HaproxyPushFailed"}'), undefined, "nothing was even offered to HAProxy");
      assert.equal(await pushes(), before);
      assert.equal(await servedThisUpdate(haproxy.port), current.thisUpdate);
    });
  }

  void it("serves /healthz, /readyz and /metrics with the reloader's series", async () => {
    assert.equal((await localGet(reloader.metricsPort, "/healthz")).status, 200);
    assert.equal((await localGet(reloader.metricsPort, "/readyz")).status, 200);
    const metrics = await reloader.metrics();
    for (const name of ["ocsp_stapler_reloader_pushes_total", "ocsp_stapler_reloader_errors_total", "ocsp_stapler_reloader_last_push_timestamp_seconds", "ocsp_stapler_reloader_staple_age_seconds", "ocsp_stapler_reloader_staple_usable_until_timestamp_seconds"]) {
      assert.match(metrics, new RegExp(`^# TYPE ${name} `, "m"));
    }
    const age = metricValue(metrics, 'ocsp_stapler_reloader_staple_age_seconds{name="tls"}');
    assert.ok(age !== undefined && age >= 0 && age < 600, `staple age ${age} is the age of the staple in use`);
    const lastPush = metricValue(metrics, 'ocsp_stapler_reloader_last_push_timestamp_seconds{name="tls"}');
    assert.ok(lastPush !== undefined && Math.abs(lastPush - Date.now() / 1000) < 600);
  });
});

void describe("reloader --server haproxy: a HAProxy that started without a staple", { skip }, () => {
  let fixture: ReloaderFixture;
  let dir: string;
  let volume: KubeletVolume;
  let haproxy: RunningHaproxy;
  let reloader: ReloaderProcess;

  before(async () => {
    fixture = await ReloaderFixture.create("rl-haproxy-late");
    dir = await makeTempDir("rl-haproxy-late");
    // The companion did not exist yet when the pod started: no tls.crt.ocsp in the volume.
    volume = await KubeletVolume.create(join(dir, "tls"), { "tls.crt": fixture.chainPem, "tls.crt.key": fixture.leaf.keyPem });
    haproxy = await startHaproxy({ crtPath: volume.path("tls.crt") });
    reloader = await startReloaderProcess(["--server", "haproxy", "--cert", volume.path("tls.crt"), "--staple", volume.path("tls.crt.ocsp"), "--haproxy-socket", haproxy.socketPath, "--interval", "60s"]);
  });
  after(async () => {
    await reloader.stop();
    await haproxy.stop();
    await fixture.cleanup();
    await removeTempDir(dir);
  });

  void it("serves the first staple that appears, through a certificate transaction, and later ones by set ssl ocsp-response; same process", async () => {
    assert.equal(await servedThisUpdate(haproxy.port), "none");
    for (let round = 0; round < 2; round++) {
      const staple = await fixture.staple();
      await volume.update({ "tls.crt": fixture.chainPem, "tls.crt.key": fixture.leaf.keyPem, "tls.crt.ocsp": staple.der });
      await waitFor(async () => ((await servedThisUpdate(haproxy.port)) === staple.thisUpdate ? true : undefined), `HAProxy to serve thisUpdate ${staple.thisUpdate}`);
    }
    assert.match(await haproxyCommand(haproxy.socketPath, "show info"), new RegExp(`^Pid: ${haproxy.pid}$`, "m"));
    assert.equal(metricValue(await reloader.metrics(), 'ocsp_stapler_reloader_errors_total{reason="HaproxyPushFailed"}'), undefined, "no push failed");
  });
});
