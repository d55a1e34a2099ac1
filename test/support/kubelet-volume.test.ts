import assert from "node:assert/strict";
import { lstat, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { KubeletVolume } from "./kubelet-volume.ts";
import { makeTempDir, removeTempDir } from "./tmp.ts";

void describe("KubeletVolume mirrors the kubelet's atomic Secret volume layout", () => {
  const dirs: string[] = [];
  after(async () => { for (const dir of dirs) await removeTempDir(dir); });

  void it("holds the files in a timestamped directory behind ..data, one symlink per key", async () => {
    const dir = await makeTempDir("volume");
    dirs.push(dir);
    const volume = await KubeletVolume.create(join(dir, "tls"), { "tls.crt": "chain", "tls.ocsp": new Uint8Array([1, 2]) });
    const stamped = await volume.dataTarget();
    assert.match(stamped, /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\w+$/);
    assert.deepEqual(await volume.entries(), ["..data", stamped, "tls.crt", "tls.ocsp"].sort());
    assert.equal(await readlink(volume.path("tls.ocsp")), "..data/tls.ocsp");
    assert.ok((await lstat(volume.path("tls.crt"))).isSymbolicLink());
    assert.ok((await lstat(join(volume.dir, stamped, "tls.crt"))).isFile());
    assert.deepEqual(new Uint8Array(await readFile(volume.path("tls.ocsp"))), new Uint8Array([1, 2]));
  });

  void it("update swaps ..data to a new directory, removes the old one and the symlinks of vanished keys", async () => {
    const dir = await makeTempDir("volume");
    dirs.push(dir);
    const volume = await KubeletVolume.create(dir, { "tls.crt": "chain", "tls.ocsp": "old" });
    const before = await volume.dataTarget();
    await volume.update({ "tls.crt": "chain", "ca.crt": "root" });
    const now = await volume.dataTarget();
    assert.notEqual(now, before);
    assert.deepEqual(await volume.entries(), ["..data", now, "ca.crt", "tls.crt"].sort());
    assert.equal(await readFile(volume.path("ca.crt"), "utf8"), "root");
    await volume.update({ "tls.crt": "chain", "ca.crt": "root", "tls.ocsp": "new" });
    assert.equal(await readFile(volume.path("tls.ocsp"), "utf8"), "new");
    assert.equal((await volume.entries()).filter((entry) => entry.startsWith("..2")).length, 1, "only the current timestamped directory is left");
  });
});
