import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { startOpensslResponder, type OpensslResponder } from "./openssl-responder.ts";
import { createRootCa, goodEntry, type Issued, type KeyKind, type LeafOptions, type TestCa } from "./pki.ts";
import { runCli } from "./run-cli.ts";

/** A root, an intermediate, a leaf for localhost, its responder, and the staple `ocsp-stapler fetch` wrote for it. */
export interface CliStapledChain {
  readonly root: TestCa;
  readonly intermediate: TestCa;
  readonly leaf: Issued;
  readonly responder: OpensslResponder;
  /** The leaf, then the intermediate: what a server sends (a Secret's tls.crt). */
  readonly chainPath: string;
  /** The DER staple written by `ocsp-stapler fetch --cert chainPath --out staplePath`. */
  readonly staplePath: string;
  cleanup(): Promise<void>;
}

/**
 * The set-up of the tests that serve a staple made by our own CLI with a real
 * server: a real `openssl ocsp` responder answers `good` for the leaf, and the
 * CLI fetches, verifies and writes the staple (the test fails here if it cannot).
 */
export async function cliStapledChain(name: string, options: { rootKey?: KeyKind; leaf?: Partial<LeafOptions> } = {}): Promise<CliStapledChain> {
  const root = await createRootCa({ name: `${name}-root`, key: options.rootKey ?? "p256" });
  const intermediate = await root.issueIntermediate({ name: `${name}-int`, key: "p256" });
  const port = await freePort();
  const leaf = await intermediate.issue({ commonName: "localhost", ocspUrl: `http://127.0.0.1:${port}/`, ...options.leaf });
  const responder = await startOpensslResponder({ ca: intermediate, indexPath: await intermediate.writeIndex([goodEntry(leaf)]), port, nextUpdateDays: 7 });
  const chainPath = join(intermediate.dir, "tls.crt");
  const staplePath = join(intermediate.dir, "tls.ocsp");
  await writeFile(chainPath, leaf.certPem + intermediate.certPem);
  const fetched = await runCli(["fetch", "--cert", chainPath, "--out", staplePath, "--json"]);
  assert.equal(fetched.status, 0, fetched.stdout + fetched.stderr);
  return {
    root, intermediate, leaf, responder, chainPath, staplePath,
    cleanup: async () => {
      await responder.stop();
      await root.cleanup();
    },
  };
}
