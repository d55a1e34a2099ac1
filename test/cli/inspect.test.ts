// `inspect` and the CLI's contract (exit statuses, --json shapes, usage errors),
// run as real processes on real CA responses at the instants they were fresh.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { jsonOf, runCli } from "../support/run-cli.ts";

const v = (path: string): string => fileURLToPath(new URL(`../fixtures/ocsp-vectors/${path}`, import.meta.url));
const D1 = ["inspect", v("openssl-ocsp-tests/D1.der"), "--cert", v("openssl-ocsp-tests/D1_Cert_EE.pem"), "--issuer", v("openssl-ocsp-tests/D1_Issuer_ICA.pem")];

void describe("ocsp-stapler inspect", () => {
  void it("verifies a delegated response at the time it was fresh: exit 0, the fetch JSON shape", async () => {
    const result = await runCli([...D1, "--at", "2012-10-24T00:00:00Z", "--json"]);
    assert.equal(result.status, 0, result.stderr);
    const json = jsonOf(result);
    assert.equal(json.ok, true);
    assert.equal(json.verified, true);
    assert.equal(json.certStatus, "good");
    assert.equal(json.serial, "1121bcbf1e08cc02e792a406d3902f33ed9b");
    assert.equal(json.thisUpdate, "2012-10-23T07:00:00.000Z");
    assert.equal(json.nextUpdate, "2012-10-30T08:00:00.000Z");
    assert.deepEqual((json.signer as { kind: string }).kind, "delegated");
  });

  void it("the same staple a week after nextUpdate: exit 2, Expired", async () => {
    const result = await runCli([...D1, "--at", "2012-11-06T00:00:00Z", "--json"]);
    assert.equal(result.status, 2);
    assert.deepEqual((jsonOf(result).error as { code: string }).code, "Expired");
  });

  void it("a verified revoked answer exits 1, with the revocation time", async () => {
    const result = await runCli(["inspect", v("aws-lc-s2n/ocsp_response_revoked.der"), "--cert", v("aws-lc-s2n/rsa_cert.pem"), "--issuer", v("aws-lc-s2n/ca_cert.pem"), "--at", "2020-06-23T00:00:00Z", "--json"]);
    assert.equal(result.status, 1);
    assert.equal(jsonOf(result).certStatus, "revoked");
    assert.equal(jsonOf(result).revokedAt, "2018-08-12T05:39:25.000Z");
  });

  void it("a verified unknown answer exits 1", async () => {
    const result = await runCli(["inspect", v("aws-lc-s2n/ocsp_response_unknown.der"), "--cert", v("aws-lc-s2n/rsa_cert.pem"), "--issuer", v("aws-lc-s2n/ca_cert.pem"), "--at", "2021-07-01T00:00:00Z"]);
    assert.equal(result.status, 1);
    assert.match(result.stdout, /^status\s+unknown$/m);
  });

  void it("without --cert it only decodes, and says so", async () => {
    const result = await runCli(["inspect", v("botan/resp2.der"), "--json"]);
    assert.equal(result.status, 0);
    const json = jsonOf(result);
    assert.equal(json.verified, false);
    assert.equal(json.serial, "42483e0c5f9160c6");
    assert.deepEqual(json.responderId, { byKey: "4add06161bbcf668b576f581b6bb621aba5a812f" });
  });

  void it("a human summary names the status, the dates and the signer", async () => {
    const result = await runCli([...D1, "--at", "2012-10-24T00:00:00Z"]);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^status\s+good$/m);
    assert.match(result.stdout, /^signed by\s+delegated responder .*GlobalSign/m);
    assert.match(result.stdout, /^usable until\s+2012-10-30T08:00:00.000Z \(\d+d \d+h left\)$/m);
  });

  void it("a forged response is refused with its code on stderr", async () => {
    const result = await runCli(["inspect", v("openssl-ocsp-tests/ISOP_ND1.der"), "--cert", v("openssl-ocsp-tests/ND1_Cert_EE.pem"), "--issuer", v("openssl-ocsp-tests/ND1_Issuer_ICA.pem"), "--at", "2012-10-12T00:00:00Z"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /^error: BadSignature: /);
  });
});

void describe("bad input never crashes", () => {
  const cases: [string, string[], string][] = [
    ["garbage instead of a staple", ["inspect", v("MANIFEST.md"), "--json"], "MalformedResponse"],
    ["a missing staple file", ["inspect", "/nonexistent/staple.der", "--json"], "BadInput"],
    ["a certificate file that is not PEM", ["inspect", v("botan/resp2.der"), "--cert", v("README.md"), "--json"], "BadCertificate"],
    ["a missing chain for fetch", ["fetch", "--cert", "/nonexistent/chain.pem", "--json"], "BadInput"],
  ];
  for (const [name, args, code] of cases) {
    void it(`${name} -> ${code}, exit 2`, async () => {
      const result = await runCli(args);
      assert.equal(result.status, 2);
      assert.deepEqual(jsonOf(result), { ok: false, error: { code, message: (jsonOf(result).error as { message: string }).message } });
      assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
    });
  }
});

void describe("the command line itself", () => {
  void it("an unknown flag is an error with the command's usage, exit 2", async () => {
    const result = await runCli(["fetch", "--cert", "x.pem", "--isuer", "y.pem"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /Unknown option '--isuer'/);
    assert.match(result.stderr, /Usage: ocsp-stapler fetch/);
  });

  void it("an unknown command is an error, exit 2", async () => {
    const result = await runCli(["staple"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /unknown command "staple"/);
  });

  for (const command of ["fetch", "inspect", "check"]) {
    void it(`${command} --help prints its usage, exit 0`, async () => {
      const result = await runCli([command, "--help"]);
      assert.equal(result.status, 0);
      assert.match(result.stdout, new RegExp(`^Usage: ocsp-stapler ${command} `));
    });
  }

  void it("--at must be RFC 3339", async () => {
    const result = await runCli([...D1, "--at", "yesterday"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--at must be an RFC 3339 time/);
  });

  void it("--timeout must be a positive number of seconds", async () => {
    const result = await runCli(["fetch", "--cert", "x.pem", "--timeout", "0"]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--timeout must be a number of seconds/);
  });

  void it("--version matches package.json", async () => {
    const result = await runCli(["--version"]);
    const { version } = (await import("../../package.json", { with: { type: "json" } })).default;
    assert.equal(result.stdout.trim(), version);
  });
});
