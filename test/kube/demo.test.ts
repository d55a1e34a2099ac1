// `npm run demo` as a user runs it (node scripts/demo.ts): the status table
// with the four Secrets, kubectl's StapleConfig line, the prober's verdicts
// on its two servers (Served, NoStaple), a metrics URL that
// answers; on SIGINT an exit 0 leaving no process and no temp dir behind;
// a SIGINT during startup stops it cleanly too; and without Go or the
// binaries it says what it needs and exits 2; a first run shows the build's
// progress and names a failed build.
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";

const DEMO = fileURLToPath(new URL("../../scripts/demo.ts", import.meta.url));
const which = async (command: string) => (await promisify(execFile)("bash", ["-c", `command -v ${command}`])).stdout.trim();

interface Demo { child: ChildProcess; output: () => string; line: (pattern: RegExp) => Promise<RegExpMatchArray>; exited: Promise<number | null> }

function startDemo(env: NodeJS.ProcessEnv = process.env): Demo {
  const child = spawn(process.execPath, [DEMO], { stdio: ["ignore", "pipe", "pipe"], env });
  let output = "";
  const waiters: (() => void)[] = [];
  const onData = (chunk: Buffer) => { output += chunk.toString(); for (const waiter of waiters) waiter(); };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => { resolve(code); }));
  const line = (pattern: RegExp) => new Promise<RegExpMatchArray>((resolve, reject) => {
    const look = () => { const match = output.match(pattern); if (match !== null) resolve(match); };
    waiters.push(look);
    look();
    void exited.then(() => { look(); reject(new Error(`exited before ${String(pattern)}:\n${output}`)); });
  });
  return { child, output: () => output, line, exited };
}

/** Every process below `root`, from /proc. */
function descendants(root: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch { /* gone */ }
  }
  const found: number[] = [];
  const walk = (pid: number) => { for (const [child, parent] of parents) if (parent === pid) { found.push(child); walk(child); } };
  walk(root);
  return found;
}

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${String(pid)}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}

void describe("npm run demo", { timeout: 15 * 60_000 }, () => {
  void it("shows the four Secrets settled, kubectl's line and the metrics; SIGINT stops everything and exits 0", async () => {
    const demo = startDemo();
    try {
      await demo.line(/Ctrl-C to stop/);
      const output = demo.output();
      assert.match(output, /^shop-tls\s+demo\s+Good\b.*\s1\/1\s/m, "SERVED: its server staples the stored staple");
      assert.match(output, /^api-tls\s+demo\s+Good\b.*\s0\/1 NoStaple\s/m, "SERVED: its server staples nothing");
      assert.match(output, /^old-tls\s+demo\s+Revoked\b/m);
      assert.match(output, /^cdn-tls\s+demo\s+Failing\b.*ResponderUnreachable/m);
      assert.match(output, /^demo\s+False\s+4\s+3\s+1\s+\S+\s+False\s/m, "-o wide: Served False (api's server staples nothing)");
      assert.match(output, /^127\.0\.0\.1:\d+\s+shop\.example\s+Served\s+serves the stored staple/m);
      assert.match(output, /^127\.0\.0\.1:\d+\s+api\.example\s+NoStaple\s+no OCSP staple in the handshake for Secret api-tls/m);
      const metrics = (await demo.line(/^metrics: (http:\S+)$/m))[1] ?? "";
      const response = await fetch(metrics);
      assert.equal(response.status, 200);
      assert.match(await response.text(), /^# (HELP|TYPE) /m);
      const kubeconfig = (await demo.line(/^kubeconfig: (\S+) /m))[1] ?? "";
      const pids = descendants(demo.child.pid ?? 0);
      const names = pids.map((pid) => { try { return readFileSync(`/proc/${String(pid)}/comm`, "utf8").trim(); } catch { return ""; } });
      for (const name of ["etcd", "kube-apiserver", "openssl"]) assert.ok(names.includes(name), `${name} among the demo's processes: ${names.join(", ")}`);
      demo.child.kill("SIGINT");
      assert.equal(await demo.exited, 0, demo.output());
      assert.match(demo.output(), /^stopped$/m);
      assert.deepEqual(pids.filter(alive), [], "every process the demo started is gone");
      assert.equal(existsSync(dirname(kubeconfig)), false, "the control plane's temp dir is removed");
    } finally {
      demo.child.kill("SIGKILL");
    }
  });

  void it("without Go, cached binaries or KUBEBUILDER_ASSETS: says what it needs and exits 2, starting nothing", async () => {
    // A PATH with openssl and nothing else (no go), a HOME without the cache.
    const home = await makeTempDir("demo-home");
    try {
      const bin = join(home, "bin");
      await mkdir(bin);
      await symlink(await which("openssl"), join(bin, "openssl"));
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "KUBEBUILDER_ASSETS" && name !== "XDG_CACHE_HOME" && name !== "OCSP_STAPLER_CACHE"));
      const demo = startDemo({ ...env, HOME: home, PATH: bin });
      assert.equal(await demo.exited, 2, demo.output());
      assert.match(demo.output(), /The demo needs kube-apiserver and etcd: install Go .* or set KUBEBUILDER_ASSETS/);
      assert.doesNotMatch(demo.output(), /control plane: starting/);
    } finally {
      await removeTempDir(home);
    }
  });

  void it("the first run's build: its progress shown as it comes, and a failed build named (a stand-in `go` that fails)", async () => {
    const home = await makeTempDir("demo-build");
    try {
      const bin = join(home, "bin");
      await mkdir(bin);
      await writeFile(join(bin, "go"), "#!/bin/sh\n[ \"$1\" = version ] && { echo 'go version go1.99 linux/amd64'; exit 0; }\n[ \"$1 $2\" = 'mod download' ] && { echo \"go: downloading $3\" >&2; exit 1; }\nexit 0\n", { mode: 0o755 });
      const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== "KUBEBUILDER_ASSETS" && name !== "XDG_CACHE_HOME" && name !== "OCSP_STAPLER_CACHE"));
      const demo = startDemo({ ...env, HOME: home, PATH: `${bin}:/usr/bin:/bin` });
      assert.equal(await demo.exited, 1, demo.output());
      assert.match(demo.output(), /^control plane: locating or building kube-apiserver and etcd \(the first run builds them, ~7 min\)$/m);
      assert.match(demo.output(), /^ {2}build: go: downloading k8s\.io\/kubernetes@v\d+\.\d+\.\d+$/m, "the build's own lines, as they come");
      assert.match(demo.output(), /^demo failed: build-binaries\.sh failed \(exit 1\)$/m);
      assert.doesNotMatch(demo.output(), /control plane: starting/);
    } finally {
      await removeTempDir(home);
    }
  });

  void it("SIGINT right after the first progress line stops it cleanly", async () => {
    const demo = startDemo();
    try {
      await demo.line(/^control plane: /m);
      demo.child.kill("SIGINT");
      assert.equal(await demo.exited, 0, demo.output());
      assert.match(demo.output(), /^stopped$/m);
      assert.doesNotMatch(demo.output(), /demo failed/);
    } finally {
      demo.child.kill("SIGKILL");
    }
  });
});
