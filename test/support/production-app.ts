import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { makeTempDir } from "./tmp.ts";

const run = promisify(execFile);
const ASSEMBLE = fileURLToPath(new URL("../../scripts/assemble-app.sh", import.meta.url));

/** What the container image holds: compiled dist/ and production dependencies only. */
export interface ProductionApp {
  readonly dir: string;
  /** The CLI's entry point, dist/cli/main.js (the image's `ocsp-stapler`). */
  readonly main: string;
}

/**
 * Runs the same script as the Dockerfile's build stage into a fresh directory
 * outside the repository, so nothing resolves from the checkout's node_modules.
 */
export async function assembleProductionApp(): Promise<ProductionApp> {
  const dir = await makeTempDir("app");
  await run(ASSEMBLE, [dir], { timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
  return { dir, main: join(dir, "dist", "cli", "main.js") };
}
