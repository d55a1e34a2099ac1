import { existsSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * One certificate and the staple mounted for it. `name` names the files the
 * nginx target writes (`<name>.der`, `<name>.conf`) and labels metrics.
 */
export interface StaplePair {
  readonly name: string;
  /** PEM chain: the leaf first, then intermediates (a Secret's `tls.crt`). */
  readonly certPath: string;
  /** `ca.crt` beside `tls.crt`, searched for the issuer when present (as the operator does). */
  readonly caCrtPath: string;
  /** The DER staple, e.g. a companion Secret's `tls.ocsp` projected into a volume. */
  readonly staplePath: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/**
 * Builds a pair from the command line: `cert` may be a mounted TLS Secret
 * directory (its `tls.crt` is used) or the chain file itself.
 */
export function staplePair(name: string, cert: string, staple: string): StaplePair {
  if (!NAME.test(name)) throw new RangeError(`"${name}" is not a usable name: letters, digits, ".", "_" and "-" only, at most 63`);
  const certPath = isDirectory(cert) ? join(cert, "tls.crt") : cert;
  return { name, certPath, caCrtPath: join(dirname(certPath), "ca.crt"), staplePath: staple };
}

/**
 * The directories whose entries decide what a pair reads: watched for the
 * kubelet's `..data` swap. A file in a subdirectory of a volume (a projected
 * item path like `ocsp/tls.ocsp`) sits behind a symlink into the timestamped
 * directory, which a watch would follow and lose at the first swap: the
 * volume's root, where `..data` is, is watched too.
 */
export function watchedEntries(pair: StaplePair): { dir: string; entry: string }[] {
  return [pair.certPath, pair.caCrtPath, pair.staplePath].flatMap((path) => {
    const own = { dir: dirname(path), entry: basename(path) };
    const root = volumeRoot(dirname(own.dir));
    return root === undefined ? [own] : [own, { dir: root, entry: "..data" }];
  });
}

/** The nearest directory at or above `dir` that holds a kubelet `..data` link, if any. */
function volumeRoot(dir: string): string | undefined {
  for (let current = dir; current !== dirname(current); current = dirname(current)) {
    if (existsSync(join(current, "..data"))) return current;
  }
  return undefined;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
