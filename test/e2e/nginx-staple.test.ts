// The whole road a staple travels today: `ocsp-stapler fetch` asks a real
// `openssl ocsp` responder, writes the staple; a real nginx serves it with
// ssl_stapling_file; `openssl s_client -status` and `ocsp-stapler check` read
// it back from the handshake.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { cliStapledChain, type CliStapledChain } from "../support/cli-stapled-chain.ts";
import { freePort } from "../support/free-port.ts";
import { startNginx, type RunningNginx } from "../support/nginx.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import type { Issued } from "../support/pki.ts";
import { NGINX, skipUnlessInstalled } from "../support/programs.ts";
import { jsonOf, runCli } from "../support/run-cli.ts";

// nginx comes from Debian's packages; .ci/run installs it. Outside CI a missing
// nginx skips these tests (with the reason); in CI it fails them.
const skip = skipUnlessInstalled(NGINX);

void describe("a staple fetched by the CLI, served by nginx", { skip }, () => {
  let chain: CliStapledChain;
  let leaf: Issued;
  let chainPath: string;
  let staplePath: string;
  let stapled: RunningNginx;
  let unstapled: RunningNginx;

  before(async () => {
    chain = await cliStapledChain("nginx", { rootKey: "rsa2048" });
    ({ leaf, chainPath, staplePath } = chain);
    stapled = await startNginx({ certPath: chainPath, keyPath: leaf.keyPath, stapleFile: staplePath });
    unstapled = await startNginx({ certPath: chainPath, keyPath: leaf.keyPath });
  });

  after(async () => {
    await stapled.stop();
    await unstapled.stop();
    await chain.cleanup();
  });

  for (const version of ["-tls1_2", "-tls1_3"]) {
    void it(`openssl s_client ${version} sees a good staple for the leaf on the first handshake`, async () => {
      const output = await sClientStatus(stapled.port, [version]);
      assert.match(output, /OCSP Response Status: successful \(0x0\)/);
      assert.match(output, /Cert Status: good/);
      assert.match(output, new RegExp(`Serial Number: ${leaf.serialHex.toUpperCase().padStart(2, "0")}`, "i"));
    });
  }

  void it("ocsp-stapler check verifies the served staple against the served chain", async () => {
    const result = await runCli(["check", `127.0.0.1:${stapled.port}`, "--servername", "localhost", "--json"]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    const json = jsonOf(result);
    assert.equal(json.ok, true);
    assert.equal(json.certStatus, "good");
    assert.equal(json.serial, leaf.serialHex);
    assert.ok(typeof json.usableUntil === "string" && new Date(json.usableUntil) > new Date(), "the staple has time left");
  });

  void it("ocsp-stapler check says how long the staple has left, for people", async () => {
    const result = await runCli(["check", `127.0.0.1:${stapled.port}`]);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^usable until\s+\S+ \(\d+d \d+h left\)$/m);
  });

  void it("a server with no staple: check exits 2 with NoStapleServed", async () => {
    const result = await runCli(["check", `127.0.0.1:${unstapled.port}`, "--json"]);
    assert.equal(result.status, 2);
    assert.equal((jsonOf(result).error as { code: string }).code, "NoStapleServed");
  });

  void it("nothing listening: check exits 2 with TLSConnectFailed", async () => {
    const result = await runCli(["check", `127.0.0.1:${await freePort()}`, "--json", "--timeout", "3"]);
    assert.equal(result.status, 2);
    assert.equal((jsonOf(result).error as { code: string }).code, "TLSConnectFailed");
  });
});
