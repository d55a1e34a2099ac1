// The volume watcher on a volume laid out as the kubelet does: every atomic swap
// is noticed by its events alone (the poll is set far away), also for a file in
// a subdirectory of the volume (a projected item path like ocsp/tls.ocsp).
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { systemClock } from "../../src/ocsp/clock.ts";
import { staplePair, watchedEntries } from "../../src/reloader/staple-pair.ts";
import { VolumeWatcher } from "../../src/reloader/volume-watcher.ts";
import { KubeletVolume } from "../support/kubelet-volume.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";
import { waitFor } from "../support/wait-for.ts";

void describe("the volume watcher", () => {
  let dir: string;
  before(async () => { dir = await makeTempDir("volume-watcher"); });
  after(async () => { await removeTempDir(dir); });

  for (const [cert, staple] of [["tls.crt", "tls.ocsp"], ["tls/tls.crt", "ocsp/tls.ocsp"]] as const) {
    void it(`sees every swap of a volume holding ${cert} and ${staple}`, async () => {
      const volume = await KubeletVolume.create(join(dir, staple.replace("/", "-")), { [cert]: "chain", [staple]: "first" });
      let changes = 0;
      const watcher = new VolumeWatcher(watchedEntries(staplePair("web", volume.path(cert), volume.path(staple))), { clock: systemClock, intervalMs: 600_000, debounceMs: 50, onChange: () => { changes++; } });
      watcher.start();
      try {
        for (let round = 1; round <= 3; round++) {
          const before = changes;
          await volume.update({ [cert]: "chain", [staple]: `update ${round}` });
          await waitFor(() => (changes > before ? true : undefined), `swap ${String(round)} to be noticed`, 2_000);
        }
      } finally {
        watcher.stop();
      }
    });
  }
});
