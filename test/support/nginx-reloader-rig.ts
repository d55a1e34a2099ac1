import { join } from "node:path";
import { KubeletVolume } from "./kubelet-volume.ts";
import { prepareIncludingNginx, type PreparedNginx } from "./nginx-include.ts";
import { ReloaderFixture } from "./reloader-fixture.ts";
import { makeTempDir, removeTempDir } from "./tmp.ts";

/**
 * Debian's nginx with the reloader beside it, as in a pod: a kubelet-style
 * volume holding the fixture's chain, key and first staple; nginx including
 * the reloader's staged snippets, prepared; the reloader (a process, or
 * in-process with a test clock: the caller starts it from the arguments given)
 * started. The caller starts nginx (`prepared.start()`) after it, as a native
 * sidecar comes first in a pod.
 */
export class NginxReloaderRig<R extends { stop(): Promise<void> }> {
  readonly fixture: ReloaderFixture;
  readonly dir: string;
  readonly stapleDir: string;
  readonly volume: KubeletVolume;
  readonly prepared: PreparedNginx;
  readonly reloader: R;
  /** The staple mounted at the start. */
  readonly first: { der: Uint8Array; thisUpdate: string };

  private constructor(parts: Omit<NginxReloaderRig<R>, "files" | "cleanup">) {
    this.fixture = parts.fixture;
    this.dir = parts.dir;
    this.stapleDir = parts.stapleDir;
    this.volume = parts.volume;
    this.prepared = parts.prepared;
    this.reloader = parts.reloader;
    this.first = parts.first;
  }

  /** `startReloader` gets the `reloader --server nginx` arguments for this volume and nginx, `extraArgs` appended. */
  static async start<R extends { stop(): Promise<void> }>(name: string, startReloader: (args: string[]) => Promise<R>, extraArgs: readonly string[] = []): Promise<NginxReloaderRig<R>> {
    const fixture = await ReloaderFixture.create(name);
    const dir = await makeTempDir(name);
    const stapleDir = join(dir, "run-ocsp-stapler");
    const first = await fixture.staple();
    const volume = await KubeletVolume.create(join(dir, "tls"), stapleFiles(fixture, first.der));
    const prepared = await prepareIncludingNginx({ certPath: volume.path("tls.crt"), keyPath: volume.path("tls.key"), stapleDir });
    const reloader = await startReloader([
      "--server", "nginx", "--cert", volume.dir, "--staple", volume.path("tls.ocsp"),
      "--nginx-staple-dir", stapleDir, "--nginx-pid-file", prepared.pidFile, "--nginx-test-command", prepared.testCommand, ...extraArgs,
    ]);
    return new NginxReloaderRig({ fixture, dir, stapleDir, volume, prepared, reloader, first });
  }

  /** The volume's files: chain, key and (unless withdrawn) this staple. */
  files(staple?: Uint8Array): Record<string, Uint8Array | string> {
    return stapleFiles(this.fixture, staple);
  }

  async cleanup(): Promise<void> {
    await this.reloader.stop();
    await this.prepared.cleanup();
    await this.fixture.cleanup();
    await removeTempDir(this.dir);
  }
}

function stapleFiles(fixture: ReloaderFixture, staple?: Uint8Array): Record<string, Uint8Array | string> {
  return { "tls.crt": fixture.chainPem, "tls.key": fixture.leaf.keyPem, ...(staple === undefined ? {} : { "tls.ocsp": staple }) };
}
