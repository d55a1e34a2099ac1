// The PEM bundle of a chain's responses (`fetch --chain full --out`): the
// label GnuTLS reads, exact bytes back, and bad bundles refused with a code.
// GnuTLS's own ocsptool reads what we write.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { isOcspError } from "../../src/ocsp/errors.ts";
import { encodeResponseBundle, isResponseBundle, readResponseBundle } from "../../src/ocsp/response-bundle.ts";
import { execOpenssl } from "../support/pki-openssl.ts";
import { findProgram, OCSPTOOL, skipUnlessInstalled } from "../support/programs.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";

const vector = (path: string) => readFile(fileURLToPath(new URL(`../fixtures/ocsp-vectors/${path}`, import.meta.url)));
const refusedWith = (code: string, words: string) => (error: unknown) => isOcspError(error) && error.code === code && error.message.includes(words);

void describe("the OCSP response bundle", () => {
  let first: Uint8Array;
  let second: Uint8Array;
  let dir: string;

  before(async () => {
    first = new Uint8Array(await vector("botan/resp2.der"));
    second = new Uint8Array(await vector("openssl-ocsp-tests/D1.der"));
    dir = await makeTempDir("bundle");
  });
  after(async () => { await removeTempDir(dir); });

  void it("is one GnuTLS-labelled PEM block per response, in order, 64-character lines", () => {
    const text = encodeResponseBundle([first, second]);
    const lines = text.split("\n");
    assert.equal(lines[0], "-----BEGIN OCSP RESPONSE-----");
    assert.equal(text.match(/^-----BEGIN OCSP RESPONSE-----$/gm)?.length, 2);
    assert.equal(text.match(/^-----END OCSP RESPONSE-----$/gm)?.length, 2);
    assert.ok(lines.filter((line) => !line.startsWith("-----")).every((line) => line.length <= 64));
    assert.ok(text.endsWith("-----END OCSP RESPONSE-----\n"));
  });

  void it("reads back exactly the bytes written, in order, ignoring text around the blocks", () => {
    const text = `written by a test\n${encodeResponseBundle([first, second])}trailing words\n`;
    assert.deepEqual(readResponseBundle(text, "bundle.pem"), [first, second]);
    assert.deepEqual(readResponseBundle(Buffer.from(text), "bundle.pem"), [first, second]);
  });

  void it("reads what gnutls-cli --save-ocsp-multi saves: the same blocks back to back, with LF or CRLF line ends", () => {
    const saved = encodeResponseBundle([first, second]);
    assert.deepEqual(readResponseBundle(saved, "staples.pem"), [first, second]);
    assert.deepEqual(readResponseBundle(`leading text\r\n${saved.replaceAll("\n", "\r\n")}trailing\r\n`, "staples.pem"), [first, second]);
  });

  void it("tells a bundle from a DER response", () => {
    assert.equal(isResponseBundle(encodeResponseBundle([first])), true);
    assert.equal(isResponseBundle(Buffer.from(encodeResponseBundle([first]))), true);
    assert.equal(isResponseBundle(first), false);
    assert.equal(isResponseBundle(""), false, "gnutls-cli saved no staple");
    assert.equal(isResponseBundle(Buffer.from("-----BEGIN CERTIFICATE-----\n")), false);
  });

  void it("refuses bad bundles with a code, before decoding anything", () => {
    const block = encodeResponseBundle([first]);
    assert.throws(() => readResponseBundle("-----BEGIN OCSP RESPONSE-----\nMIIB\n", "cut.pem"), refusedWith("MalformedResponse", "no complete"));
    assert.throws(() => readResponseBundle(block + "-----BEGIN OCSP RESPONSE-----\nMIIB\n", "cut.pem"), refusedWith("MalformedResponse", "without their"));
    assert.throws(() => readResponseBundle("-----BEGIN OCSP RESPONSE-----\nnot base64!\n-----END OCSP RESPONSE-----\n", "junk.pem"), refusedWith("MalformedResponse", "not base64"));
    assert.throws(() => readResponseBundle(block.repeat(9), "long.pem"), refusedWith("BadInput", "holds 9 OCSP responses"));
    assert.equal(readResponseBundle(block.repeat(8), "eight.pem").length, 8);
  });

  void it("OpenSSL reads each block, once converted to DER", async () => {
    const blocks = readResponseBundle(encodeResponseBundle([first, second]), "bundle.pem");
    for (const [index, der] of blocks.entries()) {
      const path = join(dir, `block-${index}.der`);
      await writeFile(path, der);
      const run = await execOpenssl(["ocsp", "-respin", path, "-resp_text", "-noverify"]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /OCSP Response Status: successful/);
    }
  });

  void it("GnuTLS's ocsptool reads our PEM as an OCSP response", { skip: skipUnlessInstalled(OCSPTOOL) }, async () => {
    for (const [der, serial] of [[first, "42483e0c5f9160c6"], [second, "1121bcbf1e08cc02e792a406d3902f33ed9b"]] as const) {
      const path = join(dir, `${serial}.pem`);
      await writeFile(path, encodeResponseBundle([der, first]));
      const { stdout } = await promisify(execFile)(findProgram(OCSPTOOL) ?? "ocsptool", ["--response-info", `--infile=${path}`]);
      assert.match(stdout, new RegExp(`Serial Number: ${serial}\\b`));
    }
  });
});
