// Which shapes of a staple a GnuTLS client accepts (issue 12: GnuTLS 3.7.9 was
// seen refusing a root-signed response for the intermediate with "The
// received OCSP status response is invalid"). Each case serves, from a real
// Exim, a bundle in which one response has the layout under test and the other
// is plainly issuer-signed, and asks gnutls-cli over TLS 1.3; `openssl ocsp`
// gives its verdict on the same response. The table in
// docs/full-chain-clients.md is this file's output.
//
// Why (lib/cert-session.c, lib/x509/ocsp.c): GnuTLS first checks a staple
// against its own trust anchors, finding an unembedded signer by its *name*
// only; failing that, it tries the certificates that follow in the server's
// chain as the direct signer. The intermediate's response has nothing after
// it in a leaf + intermediate chain, so a root-signed one must name the root
// by name (or embed it), and a delegate's must embed the delegate.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pemBundle, startExim } from "../support/exim.ts";
import { gnutlsCliStarttls, writeResponseBundle } from "../support/gnutls-client.ts";
import { opensslQuery } from "../support/pki-ocsp-client.ts";
import { EXIM, GNUTLS_CLI, skipUnlessInstalled } from "../support/programs.ts";
import { createThreeLevelPki, ISSUER_SIGNED, type ChainMember, type ResponseLayout, type ThreeLevelPki } from "../support/three-level-pki.ts";

const skip = skipUnlessInstalled(EXIM, GNUTLS_CLI);

interface LayoutCase {
  /** Whose response has the layout under test. */
  readonly member: ChainMember;
  readonly layout: ResponseLayout;
  /** Exim sends leaf + intermediate + root instead of leaf + intermediate. */
  readonly serverSendsRoot?: boolean;
  /** gnutls-cli's verdict. */
  readonly gnutls: "trusted" | "invalid";
  /** `openssl ocsp -respin … -CAfile root`'s verdict. */
  readonly openssl: "verified" | "failed";
}

const layout = (signer: ResponseLayout["signer"], embedCerts: boolean, responderId: ResponseLayout["responderId"]): ResponseLayout => ({ signer, embedCerts, responderId });

const CASES: readonly LayoutCase[] = [
  { member: "intermediate", layout: layout("issuer", false, "name"), gnutls: "trusted", openssl: "verified" },
  { member: "intermediate", layout: layout("issuer", false, "key"), gnutls: "invalid", openssl: "verified" },
  { member: "intermediate", layout: layout("issuer", false, "key"), serverSendsRoot: true, gnutls: "trusted", openssl: "verified" },
  { member: "intermediate", layout: layout("issuer", true, "name"), gnutls: "trusted", openssl: "verified" },
  { member: "intermediate", layout: layout("issuer", true, "key"), gnutls: "trusted", openssl: "verified" },
  { member: "intermediate", layout: layout("delegate", true, "name"), gnutls: "trusted", openssl: "verified" },
  { member: "intermediate", layout: layout("delegate", true, "key"), gnutls: "trusted", openssl: "verified" },
  { member: "intermediate", layout: layout("delegate", false, "name"), gnutls: "invalid", openssl: "failed" },
  { member: "intermediate", layout: layout("delegate", false, "key"), gnutls: "invalid", openssl: "failed" },
  { member: "leaf", layout: layout("issuer", false, "name"), gnutls: "trusted", openssl: "verified" },
  { member: "leaf", layout: layout("issuer", false, "key"), gnutls: "trusted", openssl: "verified" },
  { member: "leaf", layout: layout("issuer", true, "key"), gnutls: "trusted", openssl: "verified" },
  { member: "leaf", layout: layout("delegate", true, "name"), gnutls: "trusted", openssl: "verified" },
  { member: "leaf", layout: layout("delegate", true, "key"), gnutls: "trusted", openssl: "verified" },
  { member: "leaf", layout: layout("delegate", false, "name"), gnutls: "invalid", openssl: "failed" },
];

function describeCase({ member, layout: shape, serverSendsRoot }: LayoutCase): string {
  const issuer = member === "leaf" ? "intermediate" : "root";
  const signer = shape.signer === "issuer" ? `the ${issuer}` : `the ${issuer}'s delegate`;
  const certs = shape.embedCerts ? "embedded" : "not embedded";
  return `${member}'s response signed by ${signer} (${certs}, ResponderID by ${shape.responderId})${serverSendsRoot === true ? ", Exim sending the root too" : ""}`;
}

void describe("the staple layouts gnutls-cli accepts under TLS 1.3", { skip }, () => {
  let pki: ThreeLevelPki;

  before(async () => {
    pki = await createThreeLevelPki("layouts");
  });

  after(async () => {
    await (pki as ThreeLevelPki | undefined)?.cleanup();
  });

  for (const [index, testCase] of CASES.entries()) {
    void it(`${describeCase(testCase)}: ${testCase.gnutls} for GnuTLS, ${testCase.openssl} by openssl`, async () => {
      const other: ChainMember = testCase.member === "leaf" ? "intermediate" : "leaf";
      const [tested, plain] = await Promise.all([pki.response(testCase.member, testCase.layout), pki.response(other, ISSUER_SIGNED)]);
      const responses = testCase.member === "leaf" ? [tested, plain] : [plain, tested];
      const bundlePath = await writeResponseBundle(join(pki.root.dir, `layout-${String(index)}.pem`), responses);
      const certPath = testCase.serverSendsRoot === true ? await withRoot(pki, index) : pki.chainPath;
      const exim = await startExim({ certPath, keyPath: pki.leaf.keyPath, ocspFile: pemBundle(bundlePath) });
      try {
        const run = await gnutlsCliStarttls(exim.port, { tls: "1.3", caPath: pki.rootPath });
        assert.equal(run.responses.length, 2, `both responses are sent either way:\n${run.output}`);
        if (testCase.gnutls === "trusted") {
          assert.equal(run.code, 0, run.output);
          assert.equal(run.status, "The certificate is trusted.");
        } else {
          assert.notEqual(run.code, 0, run.output);
          assert.equal(run.status, "The certificate is NOT trusted. The received OCSP status response is invalid.");
        }
      } finally {
        await exim.stop();
      }
      const issuer = testCase.member === "leaf" ? pki.intermediate : pki.root;
      const subject = testCase.member === "leaf" ? pki.leaf : pki.intermediate;
      const check = await opensslQuery({ cert: subject, issuer, response: tested, caFile: pki.rootPath });
      assert.equal(check.verified, testCase.openssl === "verified", check.stdout + check.stderr);
    });
  }
});

/** The chain with the root appended, as some Secrets' tls.crt has it. */
async function withRoot(pki: ThreeLevelPki, index: number): Promise<string> {
  const path = join(pki.root.dir, `chain-with-root-${String(index)}.pem`);
  await writeFile(path, pki.leaf.certPem + pki.intermediate.certPem + pki.root.certPem);
  return path;
}
