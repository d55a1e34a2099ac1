import { lstat, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

/** A key and its bytes, as in a Secret's `data` (keys may hold a `/`, as `items[].path` allows). */
export type VolumeFiles = Readonly<Record<string, Uint8Array | string>>;

/**
 * Mirrors a Secret or projected volume exactly as the kubelet's AtomicWriter
 * lays it out (pkg/volume/util/atomic_writer.go):
 *
 *   dir/..2026_11_25_10_00_00.123456789/tls.ocsp   the real files, in a timestamped directory
 *   dir/..data -> ..2026_11_25_10_00_00.123456789  the current payload
 *   dir/tls.ocsp -> ..data/tls.ocsp                one user-visible symlink per top-level key
 *
 * An update writes a new timestamped directory, points `..data_tmp` at it,
 * renames `..data_tmp` over `..data` (the one atomic step), adds symlinks for
 * new keys, removes those of vanished keys, then removes the old directory.
 */
export class KubeletVolume {
  readonly dir: string;
  private current: string | undefined;
  private keys = new Set<string>();

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the volume in `dir` (made if absent) holding `files`. */
  static async create(dir: string, files: VolumeFiles): Promise<KubeletVolume> {
    await mkdir(dir, { recursive: true });
    const volume = new KubeletVolume(dir);
    await volume.update(files);
    return volume;
  }

  /** The path a container reads `key` at (through the symlinks). */
  path(key: string): string {
    return join(this.dir, key);
  }

  /** Replaces the whole payload atomically, as the kubelet does when the Secret changes. */
  async update(files: VolumeFiles): Promise<void> {
    const stamped = await mkdtemp(join(this.dir, `..${timestamp(new Date())}.`));
    for (const [key, bytes] of Object.entries(files)) {
      await mkdir(dirname(join(stamped, key)), { recursive: true });
      await writeFile(join(stamped, key), bytes, { mode: 0o644 });
    }
    const name = stamped.slice(this.dir.length + 1);
    const tmp = join(this.dir, "..data_tmp");
    await rm(tmp, { force: true });
    await symlink(name, tmp);
    await rename(tmp, join(this.dir, "..data"));
    const top = new Set(Object.keys(files).map((key) => key.split("/")[0] ?? key));
    for (const key of top) {
      if (!(await exists(join(this.dir, key)))) await symlink(join("..data", key), join(this.dir, key));
    }
    for (const key of this.keys) {
      if (!top.has(key)) await rm(join(this.dir, key), { force: true });
    }
    if (this.current !== undefined) await rm(join(this.dir, this.current), { recursive: true, force: true });
    this.current = name;
    this.keys = top;
  }

  /** What `..data` points at now (for tests of the layout). */
  async dataTarget(): Promise<string> {
    return readlink(join(this.dir, "..data"));
  }

  /** Every entry in the volume directory, hidden ones included. */
  async entries(): Promise<string[]> {
    return (await readdir(this.dir)).sort();
  }
}

/** `2006_01_02_15_04_05`, the kubelet's prefix format (it appends a random suffix, as mkdtemp does here). */
function timestamp(at: Date): string {
  const pad = (value: number): string => String(value).padStart(2, "0");
  return `${at.getUTCFullYear()}_${pad(at.getUTCMonth() + 1)}_${pad(at.getUTCDate())}_${pad(at.getUTCHours())}_${pad(at.getUTCMinutes())}_${pad(at.getUTCSeconds())}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
