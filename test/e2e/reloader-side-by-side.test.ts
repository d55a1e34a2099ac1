// The comparison, on one certificate and one `openssl ocsp`
// responder: nginx's own stapling (`ssl_stapling on`, fetched lazily by each
// worker after a handshake has asked) against the staple file the reloader
// writes. Counts how many of the first 20 handshakes after start carry a
// staple, and how many OCSP requests the responder saw. The numbers are
// printed; only "ours staples the first handshake" is asserted.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { probeTls } from "../../src/probe/tls-probe.ts";
import { KubeletVolume } from "../support/kubelet-volume.ts";
import { startNginx } from "../support/nginx.ts";
import { prepareIncludingNginx } from "../support/nginx-include.ts";
import { NGINX, skipUnlessInstalled } from "../support/programs.ts";
import { ReloaderFixture } from "../support/reloader-fixture.ts";
import { startReloaderProcess } from "../support/reloader-process.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";

const skip = skipUnlessInstalled(NGINX);
const HANDSHAKES = 20;
const WORKERS = 2;

/** One flag per handshake, in order: did it carry a staple? */
async function stapledHandshakes(port: number): Promise<boolean[]> {
  const stapled: boolean[] = [];
  for (let i = 0; i < HANDSHAKES; i++) stapled.push((await probeTls("127.0.0.1", port, "localhost", 10_000)).staple !== undefined);
  return stapled;
}

function summary(stapled: readonly boolean[]): string {
  return `${stapled.filter(Boolean).length}/${stapled.length} stapled, first stapled handshake: ${stapled.indexOf(true) + 1 || "none"} (${stapled.map((s) => (s ? "S" : ".")).join("")})`;
}

void describe("side by side: nginx's own ssl_stapling versus the reloader's staple file", { skip }, () => {
  let fixture: ReloaderFixture;
  let dir: string;

  before(async () => {
    fixture = await ReloaderFixture.create("rl-side");
    dir = await makeTempDir("rl-side");
  });

  after(async () => {
    await fixture.cleanup();
    await removeTempDir(dir);
  });

  void it("counts stapled handshakes and responder requests for both; ours staples the first handshake", async (t) => {
    // nginx's own stapling: nothing fetched before start.
    let seen = fixture.responder.requests.length;
    const builtIn = await startNginx({ certPath: fixture.chainPath, keyPath: fixture.leaf.keyPath, builtInStapling: { responderUrl: fixture.responder.url }, workers: WORKERS });
    let builtInStapled: boolean[];
    try {
      builtInStapled = await stapledHandshakes(builtIn.port);
    } finally {
      await builtIn.stop();
    }
    const builtInRequests = fixture.responder.requests.length - seen;

    // Ours: one fetch (the operator's), a kubelet volume, the reloader writes the snippet, then nginx starts.
    seen = fixture.responder.requests.length;
    const volume = await KubeletVolume.create(join(dir, "tls"), { "tls.crt": fixture.chainPem, "tls.key": fixture.leaf.keyPem, "tls.ocsp": (await fixture.staple()).der });
    const stapleDir = join(dir, "out");
    const prepared = await prepareIncludingNginx({ certPath: volume.path("tls.crt"), keyPath: volume.path("tls.key"), stapleDir });
    const reloader = await startReloaderProcess(["--server", "nginx", "--cert", volume.dir, "--staple", volume.path("tls.ocsp"), "--nginx-staple-dir", stapleDir, "--nginx-pid-file", prepared.pidFile, "--nginx-test-command", prepared.testCommand]);
    let ours: boolean[];
    try {
      const nginx = await prepared.start();
      ours = await stapledHandshakes(nginx.port);
    } finally {
      await reloader.stop();
      await prepared.cleanup();
    }
    const oursRequests = fixture.responder.requests.length - seen;

    const report = [
      `first ${HANDSHAKES} handshakes after start, nginx with ${WORKERS} workers, one responder:`,
      `  nginx ssl_stapling on (built-in): ${summary(builtInStapled)}; OCSP requests seen by the responder: ${builtInRequests}`,
      `  ocsp-stapler reloader staple file: ${summary(ours)}; OCSP requests seen by the responder: ${oursRequests} (the one fetch that made the staple)`,
    ].join("\n");
    t.diagnostic(report);
    console.log(report);
    assert.equal(ours[0], true, "ours staples the very first handshake");
  });
});
