// Which certificates of a chain get a staple of their own (`chain: Full`),
// with which issuer, and which chains are refused before any request:
// real certificates from the test PKI and `openssl x509`.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { readChain } from "../../src/ocsp/chain.ts";
import { MAX_STAPLED_CHAIN_CERTIFICATES, resolveChainElements, type ChainElement } from "../../src/ocsp/chain-elements.ts";
import { isOcspError, OcspError } from "../../src/ocsp/errors.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { issuerCycle } from "../support/chain-rig.ts";
import { createRootCa, type Issued, type TestCa } from "../support/pki.ts";

const refusedWith = (code: string, ...words: string[]) => (error: unknown) =>
  isOcspError(error) && error.code === code && words.every((word) => error.message.includes(word));

/** Each element as "role serial <- issuer serial (source)" or "role serial: CODE", for one-line assertions. */
function describeElements(elements: readonly ChainElement[]): string[] {
  return elements.map(({ role, certificate, issuer }) => issuer instanceof OcspError
    ? `${role} ${certificate.serial}: ${issuer.code}`
    : `${role} ${certificate.serial} <- ${issuer.certificate.serial} (${issuer.source})`);
}

void describe("the elements of a chain", () => {
  let root: TestCa;
  /** root → cas[0] → cas[1] → … → cas[8]: nine nested intermediates. */
  let cas: TestCa[];
  let leaf: Issued;

  before(async () => {
    root = await createRootCa({ name: "elements-root", key: "p256" });
    cas = [];
    let parent = root;
    for (let depth = 0; depth < MAX_STAPLED_CHAIN_CERTIFICATES + 1; depth++) {
      parent = await parent.issueIntermediate({ name: `elements-int-${depth}` });
      cas.push(parent);
    }
    leaf = await parent.issue({ commonName: "leaf.example" });
  });
  after(async () => { await root.cleanup(); });

  /** tls.crt holding the leaf and the `count` intermediates nearest it; the rest of the path, the root included, in ca.crt. */
  const served = (count: number) => {
    const nearest = cas.slice(-count).reverse();
    const farther = cas.slice(0, cas.length - count);
    return readChain(leaf.certPem + nearest.map((ca) => ca.certPem).join(""), [root, ...farther].map((ca) => ca.certPem).join(""));
  };
  const ca = (depth: number) => cas[depth] ?? assert.fail(`no CA at depth ${depth}`);

  void it("the leaf, then each intermediate in served order, each with the issuer that signed it", async () => {
    const elements = await resolveChainElements(served(2));
    assert.deepEqual(describeElements(elements), [
      `leaf ${leaf.serialHex} <- ${ca(8).serialHex} (chain)`,
      `intermediate ${ca(8).serialHex} <- ${ca(7).serialHex} (chain)`,
      `intermediate ${ca(7).serialHex} <- ${ca(6).serialHex} (ca.crt)`,
    ]);
    assert.deepEqual(elements.map((element) => element.index), [0, 1, 2]);
  });

  void it("never the root, even when tls.crt holds it", async () => {
    const short = await root.issueIntermediate({ name: "elements-short" });
    const shortLeaf = await short.issue({ commonName: "short.example" });
    const elements = await resolveChainElements(readChain(shortLeaf.certPem + short.certPem + root.certPem));
    assert.deepEqual(describeElements(elements), [
      `leaf ${shortLeaf.serialHex} <- ${short.serialHex} (chain)`,
      `intermediate ${short.serialHex} <- ${root.serialHex} (chain)`,
    ]);
  });

  void it("an intermediate whose issuer is nowhere fails alone, with NoIssuer; the leaf keeps its issuer", async () => {
    const elements = await resolveChainElements(readChain(leaf.certPem + ca(8).certPem));
    assert.deepEqual(describeElements(elements), [
      `leaf ${leaf.serialHex} <- ${ca(8).serialHex} (chain)`,
      `intermediate ${ca(8).serialHex}: NoIssuer`,
    ]);
  });

  void it("an intermediate's issuer is also searched among the explicit issuers", async () => {
    const elements = await resolveChainElements(readChain(leaf.certPem + ca(8).certPem), { explicit: readCertificates(ca(7).certPem, "--issuer") });
    assert.equal(describeElements(elements)[1], `intermediate ${ca(8).serialHex} <- ${ca(7).serialHex} (explicit)`);
  });

  void it(`takes ${MAX_STAPLED_CHAIN_CERTIFICATES} certificates`, async () => {
    const elements = await resolveChainElements(served(MAX_STAPLED_CHAIN_CERTIFICATES - 1));
    assert.equal(elements.length, MAX_STAPLED_CHAIN_CERTIFICATES);
    assert.ok(elements.every((element) => !(element.issuer instanceof OcspError)), describeElements(elements).join("\n"));
  });

  void it(`refuses ${MAX_STAPLED_CHAIN_CERTIFICATES + 1}, with BadCertificate saying how many and what to do`, async () => {
    await assert.rejects(resolveChainElements(served(MAX_STAPLED_CHAIN_CERTIFICATES)),
      refusedWith("BadCertificate", `holds ${MAX_STAPLED_CHAIN_CERTIFICATES + 1} certificates`, `more than the ${MAX_STAPLED_CHAIN_CERTIFICATES}`, "remove the others"));
  });

  void it("refuses a certificate listed twice: a loop", async () => {
    await assert.rejects(resolveChainElements(readChain(leaf.certPem + ca(8).certPem + ca(7).certPem + ca(8).certPem)),
      refusedWith("BadCertificate", "twice", "certificates 2 and 4", "loop"));
  });

  void it("refuses an issuer cycle: two CAs that issued each other", async () => {
    const { a, b } = await issuerCycle(root.dir, "cycle");
    const chain = readChain(await readFile(a, "utf8") + await readFile(b, "utf8"));
    await assert.rejects(resolveChainElements(chain), refusedWith("BadCertificate", "loop", "CN=cycle-a", "CN=cycle-b"));
  });
});
