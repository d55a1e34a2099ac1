// `chain: Full` with a real mail server (issue 12): Exim (GnuTLS) serves a
// leaf + intermediate chain and a PEM bundle holding both responses
// (`tls_ocsp_file = PEM <file>`). The all-good bundle is the project's own:
// `ocsp-stapler fetch --chain full --out` writes it from the PKI's real
// responders. What each client then gets, asserted as it is today with
// Debian 12's GnuTLS 3.7.9, Exim 4.96, OpenSSL 3.0 and curl 7.88:
// - gnutls-cli receives and checks a staple per certificate under TLS 1.3,
//   byte for byte what the CLI wrote, the leaf's only under TLS 1.2 (Exim
//   loading the file also proves GnuTLS matched each response to a
//   certificate of the chain: it refuses a file where one matches none);
// - GnuTLS refuses to load a revoked response, so Exim answers STARTTLS with
//   "454 TLS currently unavailable" (revoked leaf or intermediate alike);
// - a revoked intermediate is then found only by a client's own online check
//   (gnutls-cli --ocsp), and only when no staple verified;
// - OpenSSL-based clients (s_client, curl, Node) complete TLS 1.3 and 1.2
//   handshakes with the full bundle and see the leaf's staple.
// The cases that need a response the CLI would not write (a revoked element,
// a leaf-only bundle) write their bundle here with the engine's encoding.
// docs/full-chain-clients.md explains the results to users.
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encodeResponseBundle, readResponseBundle } from "../../src/ocsp/response-bundle.ts";
import { curlSmtpCertStatus } from "../support/curl-client.ts";
import { pemBundle, pemBundleIfExists, startExim, type RunningExim } from "../support/exim.ts";
import { gnutlsCliStarttls, writeResponseBundle } from "../support/gnutls-client.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import { opensslQuery } from "../support/pki-ocsp-client.ts";
import { CURL, EXIM, GNUTLS_CLI, skipUnlessInstalled } from "../support/programs.ts";
import { runCli } from "../support/run-cli.ts";
import { starttlsReply, stapleOverStarttls } from "../support/smtp-starttls.ts";
import { createThreeLevelPki, type ThreeLevelPki } from "../support/three-level-pki.ts";
import { waitFor } from "../support/wait-for.ts";

// Outside CI a missing program skips these tests (with the reason); in CI it fails them.
const skip = skipUnlessInstalled(EXIM, GNUTLS_CLI, CURL);

const TRUSTED = "The certificate is trusted.";
const LOAD_REFUSED = /TLS error on connection .*\(gnutls_certificate_set_ocsp_status_request_file2\): The session or certificate has expired/;

/** Waits until Exim has logged why it refused STARTTLS. */
const refusalLogged = (exim: RunningExim): Promise<string> =>
  waitFor(async () => { const log = await exim.log(); return LOAD_REFUSED.test(log) ? log : undefined; }, "Exim's log of GnuTLS refusing the response", 5_000);

void describe("chain: Full with Exim: every response of the chain in one PEM bundle", { skip }, () => {
  let pki: ThreeLevelPki;
  /** What `fetch --chain full --out` wrote, as text. */
  let cliBundle: string;
  let leafResponse: Uint8Array;
  let intermediateResponse: Uint8Array;
  let full: RunningExim;

  /** An Exim serving the chain with `tls_ocsp_file` as given, stopped after `use`. */
  const withExim = async <T>(ocspFile: string, use: (exim: RunningExim) => Promise<T>): Promise<T> => {
    const exim = await startExim({ certPath: pki.chainPath, keyPath: pki.leaf.keyPath, ocspFile });
    try {
      return await use(exim);
    } finally {
      await exim.stop();
    }
  };
  const bundle = (name: string, responses: readonly Uint8Array[]): Promise<string> => writeResponseBundle(join(pki.root.dir, name), responses);

  before(async () => {
    pki = await createThreeLevelPki("full-chain");
    const cliPath = join(pki.root.dir, "full.pem");
    const fetched = await runCli(["fetch", "--chain", "full", "--cert", pki.chainPath, "--issuer", pki.rootPath, "--out", cliPath]);
    assert.equal(fetched.status, 0, fetched.stdout + fetched.stderr);
    cliBundle = await readFile(cliPath, "latin1");
    const [leaf, intermediate, ...more] = readResponseBundle(cliBundle, cliPath);
    assert.ok(leaf !== undefined && intermediate !== undefined && more.length === 0, "two responses: the leaf's, then the intermediate's");
    [leafResponse, intermediateResponse] = [leaf, intermediate];
    full = await startExim({ certPath: pki.chainPath, keyPath: pki.leaf.keyPath, ocspFile: pemBundle(cliPath) });
  });

  after(async () => {
    // Each may be unset when before() failed part-way.
    await (full as RunningExim | undefined)?.stop();
    await (pki as ThreeLevelPki | undefined)?.cleanup();
  });

  void describe("gnutls-cli", () => {
    void it("TLS 1.3: a staple for the leaf and one for the intermediate, byte for byte the CLI's file, each checked by GnuTLS and again by openssl ocsp", async () => {
      const run = await gnutlsCliStarttls(full.port, { tls: "1.3", caPath: pki.rootPath });
      assert.equal(run.code, 0, run.output + (await full.log()));
      assert.equal(run.status, TRUSTED);
      assert.match(run.output, /\(TLS1\.3-X\.509\)/);
      assert.equal(run.responses.length, 2, run.output);
      const [leafStaple, intermediateStaple] = run.responses;
      assert.ok(leafStaple?.equals(leafResponse) === true, "the leaf's staple is the bundle's first response");
      assert.ok(intermediateStaple?.equals(intermediateResponse) === true, "the intermediate's staple is the bundle's second response");
      assert.equal(encodeResponseBundle(run.responses), cliBundle, "the staples, bundled again, are the file the CLI wrote");
      const checks = await Promise.all([
        opensslQuery({ cert: pki.leaf, issuer: pki.intermediate, response: leafStaple, caFile: pki.rootPath }),
        opensslQuery({ cert: pki.intermediate, issuer: pki.root, response: intermediateStaple, caFile: pki.rootPath }),
      ]);
      for (const check of checks) {
        assert.ok(check.verified, check.stdout + check.stderr);
        assert.equal(check.status, "good");
      }
    });

    void it("TLS 1.2: the leaf's staple only, as the protocol allows", async () => {
      const run = await gnutlsCliStarttls(full.port, { tls: "1.2", caPath: pki.rootPath });
      assert.equal(run.code, 0, run.output + (await full.log()));
      assert.equal(run.status, TRUSTED);
      assert.match(run.output, /\(TLS1\.2-X\.509\)/);
      assert.equal(run.responses.length, 1, run.output);
      assert.ok(run.responses[0]?.equals(leafResponse));
    });
  });

  void describe("the intermediate revoked by the root's responder", () => {
    let revokedIntermediate: Uint8Array;
    before(async () => {
      await pki.setStatus("intermediate", "revoked");
      revokedIntermediate = await pki.response("intermediate");
    });
    after(() => pki.setStatus("intermediate", "good"));

    void it("a bundle holding its revoked response: GnuTLS will not load it and Exim answers STARTTLS with 454", async () => {
      const path = await bundle("revoked-intermediate.pem", [leafResponse, revokedIntermediate]);
      await withExim(pemBundle(path), async (exim) => {
        assert.match(await starttlsReply(exim.port), /^454 TLS currently unavailable\r\n$/);
        await refusalLogged(exim);
        // STARTTLS is still offered: a client that requires TLS gives up, one that does not carries on in plaintext.
        const strict = await curlSmtpCertStatus(exim.port, pki.rootPath);
        assert.equal(strict.code, 64, strict.output);
        assert.match(strict.output, /STARTTLS denied, code 454/);
        const opportunistic = await curlSmtpCertStatus(exim.port, pki.rootPath, { tls: "opportunistic" });
        assert.equal(opportunistic.code, 0, opportunistic.output);
        assert.equal(opportunistic.protocol, undefined, "no TLS at all");
        assert.match(opportunistic.output, /^< 214 /m, "the SMTP dialogue went on in plaintext");
      });
    });

    void it("the bundle withdrawn (tls_ocsp_file guarded by ${if exists}): gnutls-cli --ocsp asks the root's responder and refuses the chain", async () => {
      await withExim(pemBundleIfExists(join(pki.root.dir, "withdrawn.pem")), async (exim) => {
        const asked = pki.responders.intermediate.requests.length;
        const run = await gnutlsCliStarttls(exim.port, { tls: "1.3", caPath: pki.rootPath, ocsp: true });
        assert.equal(run.responses.length, 0, run.output);
        assert.notEqual(run.code, 0, run.output);
        assert.equal(run.handshake, false);
        assert.match(run.output, /\*\*\* Certificate was revoked at/);
        assert.match(run.output, /\*\*\* Verifying \(with OCSP\) server certificate chain failed/);
        assert.ok(pki.responders.intermediate.requests.length > asked, "gnutls-cli asked the root's responder");
        // Without --ocsp GnuTLS checks nothing it was not given.
        const trusting = await gnutlsCliStarttls(exim.port, { tls: "1.3", caPath: pki.rootPath });
        assert.equal(trusting.code, 0, trusting.output);
      });
    });

    void it("its response left out (a leaf-only bundle): gnutls-cli --ocsp accepts, the good leaf staple skipping its online check", async () => {
      const path = await bundle("leaf-only.pem", [leafResponse]);
      await withExim(pemBundle(path), async (exim) => {
        const asked = pki.responders.intermediate.requests.length;
        const run = await gnutlsCliStarttls(exim.port, { tls: "1.3", caPath: pki.rootPath, ocsp: true });
        assert.equal(run.code, 0, run.output);
        assert.equal(run.status, TRUSTED);
        assert.equal(run.responses.length, 1);
        assert.equal(pki.responders.intermediate.requests.length, asked, "no online check of the intermediate");
      });
    });
  });

  void describe("the leaf revoked", () => {
    let revokedLeaf: Uint8Array;
    before(async () => {
      await pki.setStatus("leaf", "revoked");
      revokedLeaf = await pki.response("leaf");
    });
    after(() => pki.setStatus("leaf", "good"));

    for (const shape of ["its response alone, DER", "in a bundle with the good intermediate's"] as const) {
      void it(`${shape}: GnuTLS will not load it and Exim answers STARTTLS with 454`, async () => {
        const ocspFile = shape === "its response alone, DER"
          ? await writeDer(join(pki.root.dir, "revoked-leaf.der"), revokedLeaf)
          : pemBundle(await bundle("revoked-leaf.pem", [revokedLeaf, intermediateResponse]));
        await withExim(ocspFile, async (exim) => {
          assert.match(await starttlsReply(exim.port), /^454 TLS currently unavailable\r\n$/);
          await refusalLogged(exim);
        });
      });
    }
  });

  void describe("OpenSSL-based clients against the full bundle", () => {
    for (const version of ["1.2", "1.3"] as const) {
      void it(`openssl s_client -starttls smtp -status, TLS ${version}: completes the handshake and shows the leaf's good staple`, async () => {
        const output = await sClientStatus(full.port, ["-starttls", "smtp", version === "1.3" ? "-tls1_3" : "-tls1_2", "-CAfile", pki.rootPath]);
        assert.match(output, new RegExp(`New, TLSv${version.replace(".", "\\.")}, Cipher is`), output);
        assert.match(output, /Verify return code: 0 \(ok\)/);
        assert.match(output, /OCSP Response Status: successful \(0x0\)/);
        assert.match(output, /Cert Status: good/);
        assert.match(output, new RegExp(`Serial Number: 0*${pki.leaf.serialHex}\\b`, "i"));
        assert.equal(output.match(/OCSP Response Status/g)?.length, 1, "one staple shown");
      });

      void it(`curl --ssl-reqd --cert-status, TLS ${version}: verifies the leaf's staple`, async () => {
        const run = await curlSmtpCertStatus(full.port, pki.rootPath, { version });
        assert.equal(run.code, 0, run.output);
        assert.equal(run.protocol, `TLSv${version}`);
        assert.equal(run.certStatus, "good");
      });

      void it(`Node's tls, TLS ${version}: OCSPResponse carries the leaf's response, byte for byte`, async () => {
        const pinned = version === "1.3" ? "TLSv1.3" : "TLSv1.2";
        const staple = await stapleOverStarttls(full.port, pki.root.certPem, { minVersion: pinned, maxVersion: pinned });
        assert.ok(staple?.equals(leafResponse) === true, "Node sees the leaf's response");
      });
    }
  });
});

async function writeDer(path: string, der: Uint8Array): Promise<string> {
  await writeFile(path, der);
  return path;
}
