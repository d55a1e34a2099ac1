// `ocsp-stapler fetch --chain full` and `inspect` of what it wrote, run as
// real processes against a three-level PKI with a real `openssl ocsp`
// responder per CA: the root's answers for the intermediate, the
// intermediate's for the leaf. OpenSSL checks every response written.
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { readResponseBundle } from "../../src/ocsp/response-bundle.ts";
import { ChainRig, INTERMEDIATE_REVOKED_AT, issuerCycle, type RigChain } from "../support/chain-rig.ts";
import { opensslQuery } from "../support/pki-ocsp-client.ts";
import type { Issued, TestCa } from "../support/pki.ts";
import { jsonOf, runCli, type CliResult } from "../support/run-cli.ts";

interface Element {
  index: number;
  role: string;
  subject: string;
  serial: string;
  ok: boolean;
  certStatus?: string;
  revokedAt?: string;
  revocationReason?: string;
  thisUpdate?: string;
  nextUpdate?: string;
  responder?: string;
  out?: string;
  error?: { code: string; message: string };
}

const elementsOf = (result: CliResult): Element[] => jsonOf(result).elements as Element[];
/** Each element as "role: status" or "role: CODE". */
const outcomes = (result: CliResult): string[] => elementsOf(result).map((element) => `${element.role}: ${element.ok ? element.certStatus ?? "?" : element.error?.code ?? "?"}`);

void describe("fetch --chain full against openssl ocsp responders", () => {
  let rig: ChainRig;
  let good: RigChain;
  let revoked: RigChain;
  let noUrl: RigChain;
  let down: RigChain;

  before(async () => {
    rig = await ChainRig.start("cli-chain");
    good = await rig.chain("cli-good");
    revoked = await rig.chain("cli-revoked", "revoked");
    noUrl = await rig.chain("cli-no-url", "no-ocsp-url");
    down = await rig.chain("cli-down", "responder-down");
  });
  after(async () => { await rig.stop(); });

  // tls.crt holds the leaf and the intermediate; the root, the intermediate's issuer, comes with --issuer.
  const fetchChain = (chain: RigChain, ...extra: string[]) => runCli(["fetch", "--chain", "full", "--cert", chain.chainPath, "--issuer", rig.root.certPath, "--json", ...extra]);

  void it("all good: exit 0, two verified elements, leaf first, each from its CA's responder", async () => {
    const result = await fetchChain(good);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.equal(jsonOf(result).ok, true);
    const [leaf, intermediate] = elementsOf(result);
    assert.deepEqual(outcomes(result), ["leaf: good", "intermediate: good"]);
    assert.deepEqual([leaf?.index, leaf?.subject, leaf?.serial, leaf?.responder], [0, "CN=cli-good.example", good.leaf.serialHex, good.leafResponder.url]);
    assert.deepEqual([intermediate?.index, intermediate?.subject, intermediate?.serial, intermediate?.responder], [1, "CN=cli-good-int", good.intermediate.serialHex, rig.rootResponder.url]);
    for (const element of [leaf, intermediate]) {
      assert.ok(element?.thisUpdate !== undefined && element.nextUpdate !== undefined, "thisUpdate and nextUpdate");
    }
  });

  void it("a revoked intermediate: exit 1, its element says revoked, when and why", async () => {
    const result = await fetchChain(revoked);
    assert.equal(result.status, 1, result.stdout + result.stderr);
    assert.deepEqual(outcomes(result), ["leaf: good", "intermediate: revoked"]);
    const intermediate = elementsOf(result)[1];
    assert.deepEqual([intermediate?.revokedAt, intermediate?.revocationReason], [INTERMEDIATE_REVOKED_AT.toISOString(), "cACompromise"]);
  });

  void it("an intermediate without an OCSP URL: the leaf still fetched and verified, the intermediate NoResponderURL, exit 2", async () => {
    const result = await fetchChain(noUrl);
    assert.equal(result.status, 2, result.stdout + result.stderr);
    assert.equal(jsonOf(result).ok, false);
    assert.deepEqual(outcomes(result), ["leaf: good", "intermediate: NoResponderURL"]);
    assert.equal(elementsOf(result)[1]?.serial, noUrl.intermediate.serialHex);
  });

  void it("the intermediate's responder down while the leaf's is up: ResponderUnreachable for it, the leaf good, exit 2", async () => {
    const result = await fetchChain(down, "--timeout", "5");
    assert.equal(result.status, 2, result.stdout + result.stderr);
    assert.deepEqual(outcomes(result), ["leaf: good", "intermediate: ResponderUnreachable"]);
  });

  void it("--out-dir: one DER file per element, named by position and role, each verified by OpenSSL and by inspect", async () => {
    const dir = join(good.dir, "staples");
    const result = await fetchChain(good, "--out-dir", dir);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.deepEqual((await readdir(dir)).sort(), ["0-leaf.der", "1-intermediate.der"]);
    assert.deepEqual(elementsOf(result).map((element) => element.out), [join(dir, "0-leaf.der"), join(dir, "1-intermediate.der")]);
    await assertOpensslVerifies(await readFile(join(dir, "0-leaf.der")), good.intermediate, good.leaf, rig.root);
    await assertOpensslVerifies(await readFile(join(dir, "1-intermediate.der")), rig.root, good.intermediate, rig.root);
    const leafFile = await runCli(["inspect", join(dir, "0-leaf.der"), "--cert", good.chainPath, "--json"]);
    assert.equal(leafFile.status, 0, leafFile.stdout + leafFile.stderr);
    const intermediateFile = await runCli(["inspect", join(dir, "1-intermediate.der"), "--cert", good.intermediate.certPath, "--issuer", rig.root.certPath, "--json"]);
    assert.equal(intermediateFile.status, 0, intermediateFile.stdout + intermediateFile.stderr);
    assert.equal(jsonOf(intermediateFile).serial, good.intermediate.serialHex);
  });

  void it("--out-dir writes only the elements that may be stapled", async () => {
    const dir = join(noUrl.dir, "staples");
    const result = await fetchChain(noUrl, "--out-dir", dir);
    assert.equal(result.status, 2);
    assert.deepEqual(await readdir(dir), ["0-leaf.der"]);
  });

  void it("--out: a PEM bundle, leaf first; inspect reads it back and verifies each element; OpenSSL reads each block", async () => {
    const out = join(good.dir, "bundle.pem");
    const result = await fetchChain(good, "--out", out);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.equal(jsonOf(result).out, out);
    const text = await readFile(out, "utf8");
    assert.equal(text.match(/^-----BEGIN OCSP RESPONSE-----$/gm)?.length, 2);
    const inspected = await runCli(["inspect", out, "--cert", good.chainPath, "--issuer", rig.root.certPath, "--json"]);
    assert.equal(inspected.status, 0, inspected.stdout + inspected.stderr);
    assert.deepEqual(outcomes(inspected), ["leaf: good", "intermediate: good"]);
    assert.deepEqual(elementsOf(inspected).map((element) => element.serial), [good.leaf.serialHex, good.intermediate.serialHex]);
    const [leafDer, intermediateDer] = readResponseBundle(text, out);
    assert.ok(leafDer !== undefined && intermediateDer !== undefined);
    await assertOpensslVerifies(leafDer, good.intermediate, good.leaf, rig.root);
    await assertOpensslVerifies(intermediateDer, rig.root, good.intermediate, rig.root);
  });

  void it("inspect of a bundle against the wrong chain refuses each element; without --cert it only decodes", async () => {
    const out = join(good.dir, "bundle-wrong.pem");
    assert.equal((await fetchChain(good, "--out", out)).status, 0);
    const wrong = await runCli(["inspect", out, "--cert", revoked.chainPath, "--issuer", rig.root.certPath, "--json"]);
    assert.equal(wrong.status, 2);
    assert.deepEqual(outcomes(wrong), ["leaf: UnauthorizedSigner", "intermediate: CertIDMismatch"]);
    const decoded = await runCli(["inspect", out, "--json"]);
    assert.equal(decoded.status, 0, decoded.stdout + decoded.stderr);
    assert.deepEqual(elementsOf(decoded).map((element) => [element.serial, (element as { verified?: boolean }).verified]), [[good.leaf.serialHex, false], [good.intermediate.serialHex, false]]);
  });

  void it("a revoked intermediate is bundled (it must fail closed); a failed element leaves no bundle, and says why", async () => {
    const revokedOut = join(revoked.dir, "bundle.pem");
    const stapled = await fetchChain(revoked, "--out", revokedOut);
    assert.equal(stapled.status, 1);
    assert.equal(jsonOf(stapled).out, revokedOut);
    const inspected = await runCli(["inspect", revokedOut, "--cert", revoked.chainPath, "--issuer", rig.root.certPath, "--json"]);
    assert.equal(inspected.status, 1);
    assert.deepEqual(outcomes(inspected), ["leaf: good", "intermediate: revoked"]);

    const failedOut = join(noUrl.dir, "bundle.pem");
    const failed = await fetchChain(noUrl, "--out", failedOut);
    assert.equal(failed.status, 2);
    assert.equal(jsonOf(failed).out, undefined);
    assert.match(String(jsonOf(failed).outSkipped), /element 1 \(intermediate\) failed \(NoResponderURL\)/);
    await assert.rejects(readFile(failedOut), { code: "ENOENT" });
  });

  void it("a human summary lists every element", async () => {
    const result = await runCli(["fetch", "--chain", "full", "--cert", noUrl.chainPath, "--issuer", rig.root.certPath]);
    assert.equal(result.status, 2);
    assert.match(result.stdout, /^chain\s+2 certificate\(s\): 1 good, 0 revoked or unknown, 1 failed$/m);
    assert.match(result.stdout, /^\[0\] leaf CN=cli-no-url\.example\n {2}status\s+good$/m);
    assert.match(result.stdout, /^\[1\] intermediate CN=cli-no-url-int\n {2}error\s+NoResponderURL: /m);
  });

  void it("a chain of 9 certificates is refused before anything is asked: BadCertificate, exit 2", async () => {
    let parent: TestCa = rig.root;
    const cas: TestCa[] = [];
    for (let depth = 0; depth < 8; depth++) {
      parent = await parent.issueIntermediate({ name: `cli-deep-${depth}`, ocspUrl: rig.rootResponder.url });
      cas.push(parent);
    }
    const leaf = await parent.issue({ commonName: "deep.example", ocspUrl: rig.rootResponder.url });
    const path = join(parent.dir, "tls.crt");
    await writeFile(path, leaf.certPem + cas.reverse().map((ca) => ca.certPem).join(""));
    const asked = rig.rootResponder.requests.length;
    const result = await fetchChain({ ...good, chainPath: path });
    assert.equal(result.status, 2, result.stdout);
    assert.equal((jsonOf(result).error as { code: string }).code, "BadCertificate");
    assert.match((jsonOf(result).error as { message: string }).message, /holds 9 certificates, more than the 8/);
    assert.equal(rig.rootResponder.requests.length, asked);
  });

  void it("a loop is refused: a certificate listed twice, or two CAs that issued each other (BadCertificate, exit 2)", async () => {
    const twice = join(good.dir, "twice.crt");
    await writeFile(twice, good.leaf.certPem + good.intermediate.certPem + good.intermediate.certPem);
    const repeated = await fetchChain({ ...good, chainPath: twice });
    assert.equal(repeated.status, 2);
    assert.deepEqual(jsonOf(repeated).error, { code: "BadCertificate", message: (jsonOf(repeated).error as { message: string }).message });
    assert.match((jsonOf(repeated).error as { message: string }).message, /twice .*loop/);

    const { a, b } = await issuerCycle(good.dir, "cli-cycle");
    const cycle = join(good.dir, "cycle.crt");
    await writeFile(cycle, (await readFile(a, "utf8")) + (await readFile(b, "utf8")));
    const looped = await runCli(["fetch", "--chain", "full", "--cert", cycle, "--json"]);
    assert.equal(looped.status, 2);
    assert.equal((jsonOf(looped).error as { code: string }).code, "BadCertificate");
    assert.match((jsonOf(looped).error as { message: string }).message, /issuers form a loop/);
  });

  void it("--out-dir without --chain full is a usage error", async () => {
    const result = await runCli(["fetch", "--cert", good.chainPath, "--out-dir", good.dir]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /--out-dir needs --chain full/);
  });
});

/** OpenSSL's own verdict on a response for `cert` under `issuer`, trusting `root`: good and "Response verify OK". */
async function assertOpensslVerifies(response: Uint8Array, issuer: Issued, cert: Issued, root: Issued): Promise<void> {
  const caFile = join(root.certPath, "..", "trust-with-intermediate.pem");
  await writeFile(caFile, root.certPem + issuer.certPem);
  const verdict = await opensslQuery({ issuer, cert, response, caFile });
  assert.deepEqual({ status: verdict.status, verified: verdict.verified }, { status: "good", verified: true }, verdict.stdout + verdict.stderr);
}
