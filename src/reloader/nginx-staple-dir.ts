import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";

/**
 * The directory nginx includes (`include /run/ocsp-stapler/*.conf;` inside
 * the server block; a glob that matches nothing is not an error). A verified
 * staple becomes `<name>.der` plus `<name>.conf` turning stapling on with
 * that file; a withdrawn one loses both, so nginx never points at a missing
 * or expired file and never fails its configuration test because of us.
 * Every write is a temp file plus rename: nginx never reads half a file.
 */
export class NginxStapleDir {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  staplePath(name: string): string {
    return join(this.dir, `${name}.der`);
  }

  snippetPath(name: string): string {
    return join(this.dir, `${name}.conf`);
  }

  /** The staple a previous run left in place (the directory is often an emptyDir that outlives the container), if any. */
  installed(name: string): Uint8Array | undefined {
    try {
      readFileSync(this.snippetPath(name));
      return new Uint8Array(readFileSync(this.staplePath(name)));
    } catch {
      return undefined;
    }
  }

  /** What is on disk for `name` now, to put back with `restore` if nginx refuses the change. */
  snapshot(name: string): DirSnapshot {
    return { name, der: readOptional(this.staplePath(name)), conf: readOptional(this.snippetPath(name)) };
  }

  /** Puts back a snapshot: the snippet last, so it never names a staple that is not there. */
  restore(snapshot: DirSnapshot): void {
    if (snapshot.conf === undefined || snapshot.der === undefined) {
      this.withdraw(snapshot.name);
      return;
    }
    atomicWrite(this.staplePath(snapshot.name), snapshot.der);
    atomicWrite(this.snippetPath(snapshot.name), snapshot.conf);
  }

  /** The staple first, then the snippet that names it. Throws on a write failure. */
  install(name: string, response: VerifiedResponse, source: string): void {
    atomicWrite(this.staplePath(name), response.der);
    atomicWrite(this.snippetPath(name), snippet(this.staplePath(name), response, source));
  }

  /** The snippet first (nginx stops referring to the staple), then the staple. */
  withdraw(name: string): void {
    rmSync(this.snippetPath(name), { force: true });
    rmSync(this.staplePath(name), { force: true });
  }
}

/** The files of one pair as they were. */
export interface DirSnapshot {
  readonly name: string;
  readonly der: Uint8Array | undefined;
  readonly conf: Uint8Array | undefined;
}

function readOptional(path: string): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync(path));
  } catch {
    return undefined;
  }
}

function snippet(staplePath: string, response: VerifiedResponse, source: string): string {
  return `# Written by ocsp-stapler reloader: a verified staple copied from ${source}
# (serial ${response.serial}, thisUpdate ${response.thisUpdate.toISOString()}, usable until ${response.usableUntil.toISOString()}).
ssl_stapling on;
ssl_stapling_file ${staplePath};
`;
}

function atomicWrite(path: string, data: Uint8Array | string): void {
  const temp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(temp, data, { mode: 0o644 });
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
