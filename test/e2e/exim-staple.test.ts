// A staple for a mail server: `ocsp-stapler fetch` asks a real `openssl ocsp`
// responder and writes the staple; a real Exim serves it from tls_ocsp_file
// after STARTTLS; `openssl s_client -starttls smtp -status` and Node's TLS
// client (for the exact bytes) read it back from the handshake. And a renewed
// staple, swapped in the way the kubelet updates a mounted Secret, reaches a
// running Exim without a restart: its daemon watches the file (inotify) and
// reloads about five seconds after a change. Two sharp edges for people
// mounting an optional companion Secret: a tls_ocsp_file naming a missing file
// breaks STARTTLS outright, and guarding it with ${if exists...} avoids that
// (and, being an expansion, is read at every handshake instead).
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, rename, symlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { ocspFileIfExists, startExim, type RunningExim } from "../support/exim.ts";
import { cliStapledChain, type CliStapledChain } from "../support/cli-stapled-chain.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import { runOpenssl } from "../support/pki-openssl.ts";
import type { Issued, TestCa } from "../support/pki.ts";
import { EXIM, skipUnlessInstalled } from "../support/programs.ts";
import { runCli } from "../support/run-cli.ts";
import { stapleOverStarttls } from "../support/smtp-starttls.ts";

// Exim comes from Debian's packages (exim4-daemon-light). Outside CI a missing
// Exim skips these tests (with the reason); in CI it fails them.
const skip = skipUnlessInstalled(EXIM);

void describe("a staple fetched by the CLI, served by Exim after STARTTLS", { skip }, () => {
  let chain: CliStapledChain;
  let root: TestCa;
  let intermediate: TestCa;
  let leaf: Issued;
  let chainPath: string;
  let staplePath: string;
  let stapled: RunningExim;
  let unstapled: RunningExim;

  before(async () => {
    chain = await cliStapledChain("exim", { rootKey: "rsa2048" });
    ({ root, intermediate, leaf, chainPath, staplePath } = chain);
    stapled = await startExim({ certPath: chainPath, keyPath: leaf.keyPath, ocspFile: staplePath });
    unstapled = await startExim({ certPath: chainPath, keyPath: leaf.keyPath });
  });

  after(async () => {
    // Each may be unset when before() failed part-way.
    await (stapled as RunningExim | undefined)?.stop();
    await (unstapled as RunningExim | undefined)?.stop();
    await (chain as CliStapledChain | undefined)?.cleanup();
  });

  for (const version of ["-tls1_2", "-tls1_3"]) {
    void it(`openssl s_client -starttls smtp ${version} sees a good staple for the leaf`, async () => {
      const output = await sClientStatus(stapled.port, ["-starttls", "smtp", version]);
      assert.match(output, /OCSP Response Status: successful \(0x0\)/, output + (await stapled.log()));
      assert.match(output, /Cert Status: good/);
      assert.match(output, new RegExp(`Serial Number: 0*${leaf.serialHex}\\b`, "i"));
    });
  }

  void it("the stapled response is byte for byte the file ocsp-stapler fetch wrote", async () => {
    const [served, written] = await Promise.all([stapleOverStarttls(stapled.port, root.certPem), readFile(staplePath)]);
    assert.ok(served !== undefined, `no staple served:\n${await stapled.log()}`);
    assert.ok(served.equals(written), `served ${String(served.length)} bytes differ from the ${String(written.length)}-byte staple file`);
    // The same, as openssl reads them: serial and This Update.
    const servedPath = join(intermediate.dir, "served.ocsp");
    await writeFile(servedPath, served);
    const [servedText, writtenText] = await Promise.all([servedPath, staplePath].map(async (path) => (await runOpenssl(["ocsp", "-respin", path, "-resp_text", "-noverify"])).stdout));
    for (const field of [/Serial Number: (\S+)/, /This Update: (.+)/]) {
      const value = writtenText?.match(field)?.[1];
      assert.ok(value !== undefined, `${String(field)} not in:\n${writtenText ?? ""}`);
      assert.equal(servedText?.match(field)?.[1], value);
    }
  });

  void it("without tls_ocsp_file Exim staples nothing", async () => {
    const output = await sClientStatus(unstapled.port, ["-starttls", "smtp"]);
    assert.match(output, /OCSP response: no response sent/, output);
    assert.doesNotMatch(output, /OCSP Response Status/);
    assert.equal(await stapleOverStarttls(unstapled.port, root.certPem), undefined);
  });

  void it("a renewed staple swapped into a Secret-style volume is served without restarting Exim", async () => {
    // The kubelet's layout: tls.ocsp -> ..data/tls.ocsp, ..data -> ..<version>,
    // and an update renames a new ..data link over the old one.
    const volume = join(intermediate.dir, "secret-volume");
    const publish = async (version: string): Promise<Buffer> => {
      await mkdir(join(volume, version), { recursive: true });
      const fetched = await runCli(["fetch", "--cert", chainPath, "--out", join(volume, version, "tls.ocsp")]);
      assert.equal(fetched.status, 0, fetched.stdout + fetched.stderr);
      await symlink(version, join(volume, "..data_tmp"));
      await rename(join(volume, "..data_tmp"), join(volume, "..data"));
      return readFile(join(volume, version, "tls.ocsp"));
    };
    const first = await publish("..v1");
    await symlink("..data/tls.ocsp", join(volume, "tls.ocsp"));
    const exim = await startExim({ certPath: chainPath, keyPath: leaf.keyPath, ocspFile: join(volume, "tls.ocsp") });
    try {
      assert.ok((await stapleOverStarttls(exim.port, root.certPem))?.equals(first), "serves the first staple");
      const renewed = await publish("..v2");
      assert.ok(!renewed.equals(first), "a fresh fetch makes a new response");
      const deadline = Date.now() + 20_000;
      let served = await stapleOverStarttls(exim.port, root.certPem);
      while (served?.equals(renewed) !== true && Date.now() < deadline) {
        assert.ok(served?.equals(first) === true, "serves the old staple or the new one, nothing else");
        await sleep(250);
        served = await stapleOverStarttls(exim.port, root.certPem);
      }
      assert.ok(served?.equals(renewed) === true, `the renewed staple was not served within 20 s:\n${await exim.log()}`);
    } finally {
      await exim.stop();
    }
  });

  void it("a plain tls_ocsp_file naming a missing file makes every STARTTLS fail", async () => {
    const exim = await startExim({ certPath: chainPath, keyPath: leaf.keyPath, ocspFile: join(intermediate.dir, "missing", "tls.ocsp") });
    try {
      const output = await sClientStatus(exim.port, ["-starttls", "smtp"]);
      assert.match(output, /Cipher is \(NONE\)/, output);
      assert.doesNotMatch(output, /OCSP response:/);
      // Exim logs why before it answers the ClientHello as an SMTP command.
      assert.match(await exim.log(), /TLS error on connection .*ocsp.*Error while reading file/i);
    } finally {
      await exim.stop();
    }
  });

  void it("guarded by ${if exists}: no staple while the file is missing, the staple from the next handshake once it is there", async () => {
    const path = join(intermediate.dir, "later", "tls.ocsp");
    const exim = await startExim({ certPath: chainPath, keyPath: leaf.keyPath, ocspFile: ocspFileIfExists(path) });
    try {
      const output = await sClientStatus(exim.port, ["-starttls", "smtp"]);
      assert.match(output, /OCSP response: no response sent/, output + (await exim.log()));
      assert.equal(await stapleOverStarttls(exim.port, root.certPem), undefined);
      await mkdir(dirname(path));
      await copyFile(staplePath, path);
      const served = await stapleOverStarttls(exim.port, root.certPem);
      assert.ok(served?.equals(await readFile(staplePath)) === true, `not served at once:\n${await exim.log()}`);
    } finally {
      await exim.stop();
    }
  });
});
