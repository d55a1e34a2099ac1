// The whole chain's staples reach a client through a real GnuTLS server:
// `ocsp-stapler fetch --chain full --out` writes the PEM bundle, Exim (built
// with GnuTLS) loads it with `tls_ocsp_file = PEM <file>`, and GnuTLS's own
// client saves every response the server sent (`gnutls-cli
// --save-ocsp-multi`): under TLS 1.3 both, byte for byte, under TLS 1.2
// the leaf's alone. Loading also proves GnuTLS matched each response to a
// certificate of the chain: it refuses a file where one matches none.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readResponseBundle } from "../../src/ocsp/response-bundle.ts";
import { ChainRig, type RigChain } from "../support/chain-rig.ts";
import { startExim, type RunningExim } from "../support/exim.ts";
import { EXIM, findProgram, GNUTLS_CLI, skipUnlessInstalled } from "../support/programs.ts";
import { runCli } from "../support/run-cli.ts";

const skip = skipUnlessInstalled(EXIM, GNUTLS_CLI);

/** Connects with gnutls-cli after STARTTLS at one TLS version, saving every OCSP response the server sent to `saveTo`. */
function gnutlsHandshake(port: number, trust: string, version: "TLS1.2" | "TLS1.3", saveTo: string): Promise<string> {
  const args = ["--starttls-proto=smtp", "--port", String(port), "--x509cafile", trust, `--save-ocsp-multi=${saveTo}`, "--priority", `NORMAL:-VERS-ALL:+VERS-${version}`, "127.0.0.1"];
  return new Promise((resolve) => {
    const child = execFile(findProgram(GNUTLS_CLI) ?? "gnutls-cli", args, { timeout: 20_000 }, (error, stdout, stderr) => { resolve(`${stdout}${stderr}${error === null ? "" : error.message}`); });
    // No input: gnutls-cli ends the session once the handshake is done.
    child.stdin?.end();
  });
}

void describe("a chain's staples bundled by the CLI, served by Exim (GnuTLS)", { skip }, () => {
  let rig: ChainRig;
  let chain: RigChain;
  let bundle: Uint8Array[];
  let exim: RunningExim;

  before(async () => {
    rig = await ChainRig.start("exim-bundle");
    chain = await rig.chain("exim-bundle");
    const bundlePath = join(chain.dir, "bundle.pem");
    const fetched = await runCli(["fetch", "--chain", "full", "--cert", chain.chainPath, "--issuer", rig.root.certPath, "--out", bundlePath]);
    assert.equal(fetched.status, 0, fetched.stdout + fetched.stderr);
    bundle = readResponseBundle(await readFile(bundlePath), bundlePath);
    exim = await startExim({ certPath: chain.chainPath, keyPath: chain.leaf.keyPath, ocspFile: `PEM ${bundlePath}` });
  });
  after(async () => {
    await (exim as RunningExim | undefined)?.stop();
    await (rig as ChainRig | undefined)?.stop();
  });

  void it("TLS 1.3: the client receives both responses, the leaf's then the intermediate's, byte for byte", async () => {
    const saved = join(chain.dir, "tls13.pem");
    const output = await gnutlsHandshake(exim.port, rig.root.certPath, "TLS1.3", saved);
    assert.match(output, /Handshake was completed/, output + (await exim.log()));
    assert.deepEqual(readResponseBundle(await readFile(saved), saved), bundle);
    assert.equal(bundle.length, 2);
  });

  void it("TLS 1.2: the leaf's response alone, as the protocol allows", async () => {
    const saved = join(chain.dir, "tls12.pem");
    const output = await gnutlsHandshake(exim.port, rig.root.certPath, "TLS1.2", saved);
    assert.match(output, /Handshake was completed/, output + (await exim.log()));
    assert.deepEqual(readResponseBundle(await readFile(saved), saved), bundle.slice(0, 1));
  });
});
