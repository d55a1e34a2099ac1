/**
 * Throwaway directories under the OS temp dir, so fixtures never write into
 * the repository and parallel test files never share state.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Creates a fresh, empty directory named `ocsp-stapler-<label>-XXXXXX`. */
export function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `ocsp-stapler-${label}-`));
}

/** Removes a directory made by `makeTempDir`; a missing one is not an error. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
