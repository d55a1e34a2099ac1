// `ocsp-stapler fetch` against real `openssl ocsp` responders: RSA and ECDSA
// issuers, issuer-signed and delegated, with good, revoked and unknown serials.
// Every staple written is checked again by OpenSSL itself.
import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort } from "../support/free-port.ts";
import { startOpensslResponder, type OpensslResponder } from "../support/openssl-responder.ts";
import { opensslQuery } from "../support/pki-ocsp-client.ts";
import { createRootCa, goodEntry, revokedEntry, type Issued, type KeyKind, type TestCa } from "../support/pki.ts";
import { jsonOf, runCli } from "../support/run-cli.ts";

/** What OpenSSL itself says of a staple file, independent of our verification. */
async function opensslVerdict(staple: string, ca: TestCa, leaf: Issued): Promise<{ status: string | undefined; verified: boolean }> {
  const { status, verified } = await opensslQuery({ issuer: ca, cert: leaf, response: await readFile(staple) });
  return { status, verified };
}

interface Setup {
  ca: TestCa;
  responder: OpensslResponder;
  good: Issued;
  revoked: Issued;
  unknown: Issued;
  chain: (leaf: Issued) => Promise<string>;
}

async function setUp(key: KeyKind, delegated: boolean): Promise<Setup> {
  const ca = await createRootCa({ name: `fetch-${key}-${delegated ? "delegated" : "issuer"}`, key });
  const port = await freePort();
  const ocspUrl = `http://127.0.0.1:${port}/`;
  const [good, revoked, unknown] = await Promise.all(["good", "revoked", "unknown"].map((name) => ca.issue({ commonName: `${name}.example`, ocspUrl })));
  assert.ok(good && revoked && unknown);
  const index = await ca.writeIndex([goodEntry(good), revokedEntry(revoked, new Date("2026-01-02T03:04:05Z"), "keyCompromise")]);
  const signer = delegated ? await ca.issueResponder({ commonName: "OCSP responder", key }) : undefined;
  const responder = await startOpensslResponder({ ca, indexPath: index, port, nextUpdateDays: 7, ...(signer === undefined ? {} : { signer }) });
  const chain = async (leaf: Issued): Promise<string> => {
    const path = join(ca.dir, `${leaf.serialHex}-chain.pem`);
    await writeFile(path, leaf.certPem + ca.certPem);
    return path;
  };
  return { ca, responder, good, revoked, unknown, chain };
}

for (const key of ["rsa2048", "p256"] as const) {
  for (const delegated of [false, true]) {
    const mode = delegated ? "delegated" : "issuer";
    void describe(`fetch from openssl ocsp: ${key} issuer, ${mode}-signed`, () => {
      let setup: Setup;
      before(async () => { setup = await setUp(key, delegated); });
      after(async () => { await setup.responder.stop(); await setup.ca.cleanup(); });

      void it("good: exit 0, the staple written, and OpenSSL agrees it verifies", async () => {
        const out = join(setup.ca.dir, "good.ocsp");
        const result = await runCli(["fetch", "--cert", await setup.chain(setup.good), "--out", out, "--json"]);
        assert.equal(result.status, 0, result.stdout + result.stderr);
        const json = jsonOf(result);
        assert.equal(json.certStatus, "good");
        assert.equal(json.serial, setup.good.serialHex);
        assert.equal(json.responder, setup.responder.url);
        assert.equal((json.signer as { kind: string }).kind, mode);
        assert.deepEqual(await opensslVerdict(out, setup.ca, setup.good), { status: "good", verified: true });
      });

      void it("revoked: exit 1 with time and reason, and the staple is written (it must fail closed)", async () => {
        const out = join(setup.ca.dir, "revoked.ocsp");
        const result = await runCli(["fetch", "--cert", await setup.chain(setup.revoked), "--out", out, "--json"]);
        assert.equal(result.status, 1, result.stdout + result.stderr);
        const json = jsonOf(result);
        assert.deepEqual([json.certStatus, json.revokedAt, json.revocationReason], ["revoked", "2026-01-02T03:04:05.000Z", "keyCompromise"]);
        assert.deepEqual(await opensslVerdict(out, setup.ca, setup.revoked), { status: "revoked", verified: true });
      });

      void it("unknown: exit 1 and nothing written", async () => {
        const out = join(setup.ca.dir, "unknown.ocsp");
        const result = await runCli(["fetch", "--cert", await setup.chain(setup.unknown), "--out", out, "--json"]);
        assert.equal(result.status, 1, result.stdout + result.stderr);
        assert.equal(jsonOf(result).certStatus, "unknown");
        await assert.rejects(stat(out), { code: "ENOENT" });
      });
    });
  }
}

void describe("fetch: request options and responder behaviour", () => {
  let setup: Setup;
  before(async () => { setup = await setUp("p256", false); });
  after(async () => { await setup.responder.stop(); await setup.ca.cleanup(); });

  const fetchGood = async (...extra: string[]) => runCli(["fetch", "--cert", await setup.chain(setup.good), "--json", ...extra]);

  void it("asks with GET by default, POST on request, both answered", async () => {
    const before = setup.responder.requests.length;
    assert.equal((await fetchGood()).status, 0);
    assert.equal((await fetchGood("--method", "POST")).status, 0);
    assert.deepEqual(setup.responder.requests.slice(before).map((request) => request.method), ["GET", "POST"]);
  });

  void it("a SHA-256 CertID and a nonce are answered and checked", async () => {
    const result = await fetchGood("--hash", "sha256", "--nonce");
    assert.equal(result.status, 0, result.stdout + result.stderr);
  });

  void it("sees a revocation as soon as the responder does", async () => {
    await setup.responder.updateIndex([revokedEntry(setup.good, new Date("2026-06-01T00:00:00Z"), "superseded")]);
    const result = await fetchGood();
    assert.equal(result.status, 1);
    assert.equal(jsonOf(result).revocationReason, "superseded");
    await setup.responder.updateIndex([goodEntry(setup.good)]);
    assert.equal((await fetchGood()).status, 0);
  });

  void it("--url overrides the certificate's responder", async () => {
    const result = await runCli(["fetch", "--cert", await setup.chain(setup.good), "--url", `http://127.0.0.1:${await freePort()}/`, "--json", "--timeout", "3"]);
    assert.equal((jsonOf(result).error as { code: string }).code, "ResponderUnreachable");
  });

  void it("a certificate that names no OCSP responder -> NoResponderURL, and --url fixes it", async () => {
    const silent = await setup.ca.issue({ commonName: "no-aia.example" });
    await setup.responder.updateIndex([goodEntry(setup.good), goodEntry(silent)]);
    const chain = await setup.chain(silent);
    const missing = await runCli(["fetch", "--cert", chain, "--json"]);
    assert.equal(missing.status, 2);
    assert.equal((jsonOf(missing).error as { code: string }).code, "NoResponderURL");
    const overridden = await runCli(["fetch", "--cert", chain, "--url", setup.responder.url, "--json"]);
    assert.equal(overridden.status, 0, overridden.stdout);
  });

  void it("the issuer can be given separately with --issuer", async () => {
    const leafOnly = join(setup.ca.dir, "leaf-only.pem");
    await writeFile(leafOnly, setup.good.certPem);
    const missing = await runCli(["fetch", "--cert", leafOnly, "--json"]);
    assert.equal((jsonOf(missing).error as { code: string }).code, "NoIssuer");
    const given = await runCli(["fetch", "--cert", leafOnly, "--issuer", setup.ca.certPath, "--json"]);
    assert.equal(given.status, 0, given.stdout);
    assert.equal(jsonOf(given).issuerSource, "explicit");
  });

  void it("a human summary by default, and the file holds exactly the verified bytes", async () => {
    const out = join(setup.ca.dir, "human.ocsp");
    const result = await runCli(["fetch", "--cert", await setup.chain(setup.good), "--out", out]);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^status\s+good$/m);
    assert.match(result.stdout, new RegExp(`^written to\\s+${out}$`, "m"));
    const inspected = await runCli(["inspect", out, "--cert", await setup.chain(setup.good), "--json"]);
    assert.equal(inspected.status, 0);
    assert.ok((await readFile(out)).length > 0);
  });
});

void describe("fetch: responders that must be refused", () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => { for (const cleanup of cleanups) await cleanup(); });

  async function refusedWith(signerOf: (ca: TestCa) => Promise<Issued>, code: string): Promise<void> {
    const ca = await createRootCa({ name: `refuse-${code}`, key: "p256" });
    const port = await freePort();
    const leaf = await ca.issue({ commonName: "leaf.example", ocspUrl: `http://127.0.0.1:${port}/` });
    const responder = await startOpensslResponder({ ca, indexPath: await ca.writeIndex([goodEntry(leaf)]), port, nextUpdateDays: 7, signer: await signerOf(ca) });
    cleanups.push(async () => { await responder.stop(); await ca.cleanup(); });
    const chain = join(ca.dir, "chain.pem");
    await writeFile(chain, leaf.certPem + ca.certPem);
    const result = await runCli(["fetch", "--cert", chain, "--json"]);
    assert.equal(result.status, 2);
    assert.equal((jsonOf(result).error as { code: string }).code, code);
  }

  void it("a delegated responder without id-kp-OCSPSigning -> UnauthorizedSigner", async () => {
    await refusedWith((ca) => ca.issueResponder({ commonName: "no EKU", ocspSigning: false }), "UnauthorizedSigner");
  });

  void it("a delegated responder whose certificate expired -> SignerExpired", async () => {
    await refusedWith((ca) => ca.issueResponder({ commonName: "expired", notBefore: new Date("2025-01-01T00:00:00Z"), notAfter: new Date("2025-02-01T00:00:00Z") }), "SignerExpired");
  });

  void it("a responder certificate from another CA -> UnauthorizedSigner", async () => {
    const stranger = await createRootCa({ name: "stranger", key: "p256" });
    cleanups.push(() => stranger.cleanup());
    await refusedWith(() => stranger.issueResponder({ commonName: "stranger responder" }), "UnauthorizedSigner");
  });
});
