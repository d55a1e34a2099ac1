// The entry point under the wrong Node: one clear line and exit 2, before any
// dependency is loaded (under Node 20, undici used to die with "Cannot read
// properties of undefined (reading 'bind')"). The machine's own Node (the one
// npm runs on) is the wrong one here; the test skips where it happens to be 24.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, it } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";

const ENTRY = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const SYSTEM_NODES = ["/usr/bin/node", "/usr/local/bin/node"];

/** The first Node on this machine that is not the project's Node 24, with its version. */
function otherNode(): { path: string; version: string } | undefined {
  for (const path of SYSTEM_NODES) {
    const probe = spawnSync(path, ["--version"], { encoding: "utf8" });
    const version = probe.stdout.trim().replace(/^v/, "");
    if (probe.status === 0 && !version.startsWith("24.")) return { path, version };
  }
  return undefined;
}

const node = otherNode();
let dir = "";
before(async () => { dir = await makeTempDir("node-version"); });
after(async () => { await removeTempDir(dir); });

void it("says which Node it needs and exits 2 under another major, loading nothing", { skip: node === undefined ? "no Node other than 24 on this machine" : false }, async () => {
  // The entry point exactly as tsc emits it into dist/ (the bin users run); its import of the
  // rest would fail here, which is the point: it must never be reached.
  const js = ts.transpileModule(await readFile(ENTRY, "utf8"), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, rewriteRelativeImportExtensions: true } }).outputText;
  const entry = join(dir, "main.mjs");
  await writeFile(entry, js);
  const result = spawnSync(node?.path ?? "", [entry, "fetch", "--cert", "x.pem"], { encoding: "utf8" });
  assert.equal(result.status, 2, result.stderr);
  assert.equal(result.stdout, "");
  const major = node?.version.split(".")[0] ?? "";
  assert.match(result.stderr, new RegExp(`^ocsp-stapler needs Node 24 \\(found ${major}\\.[0-9.]+\\)\\.`));
  assert.equal(result.stderr.trim().split("\n").length, 1, result.stderr);
});

void it("runs under Node 24", () => {
  const result = spawnSync(process.execPath, [ENTRY, "--version"], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^\d+\.\d+\.\d+\n$/);
});
