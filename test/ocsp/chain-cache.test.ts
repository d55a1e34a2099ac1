// tls.crt parsed, and its issuer found, once per content: real certificates from the
// test PKI, and a counting download for the AIA caIssuers case.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ChainCache } from "../../src/ocsp/chain-cache.ts";
import type { Certificate } from "../../src/ocsp/certificate.ts";
import { isOcspError } from "../../src/ocsp/errors.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { createRootCa, type Issued, type TestCa } from "../support/pki.ts";

void describe("ChainCache", () => {
  let root: TestCa;
  let intermediate: TestCa;
  let leaves: Issued[];
  let aiaLeaf: Issued;

  before(async () => {
    root = await createRootCa({ name: "chain-cache-root", key: "p256" });
    intermediate = await root.issueIntermediate({ name: "chain-cache-int" });
    leaves = await Promise.all([1, 2, 3].map((n) => intermediate.issue({ commonName: `leaf-${n}.example` })));
    aiaLeaf = await intermediate.issue({ commonName: "aia.example", caIssuersUrl: "http://127.0.0.1:9/issuer" });
  });
  after(async () => { await root.cleanup(); });

  const pem = (leaf: Issued) => leaf.certPem + intermediate.certPem;

  void it("the same bytes give the same parsed chain and issuer, not a second parse", async () => {
    const cache = new ChainCache();
    const [first] = leaves;
    assert.ok(first !== undefined);
    const once = await cache.read({ tlsCrt: pem(first), caCrt: undefined });
    const twice = await cache.read({ tlsCrt: pem(first), caCrt: undefined });
    assert.equal(twice, once);
    assert.equal(once.issuer.source, "chain");
    assert.equal(once.issuer.certificate.sha256, readCertificates(intermediate.certPem, "intermediate")[0]?.sha256);
  });

  void it("other bytes (a renewed certificate, another ca.crt) are read afresh", async () => {
    const cache = new ChainCache();
    const [first, second] = leaves;
    assert.ok(first !== undefined && second !== undefined);
    const one = await cache.read({ tlsCrt: pem(first), caCrt: undefined });
    assert.notEqual(await cache.read({ tlsCrt: pem(second), caCrt: undefined }), one);
    assert.notEqual(await cache.read({ tlsCrt: pem(first), caCrt: root.certPem }), one);
    assert.equal(cache.size, 3);
  });

  void it("a CA certificate is decoded once for every Secret that carries it", async () => {
    const cache = new ChainCache();
    const [a, b] = leaves;
    assert.ok(a !== undefined && b !== undefined);
    const one = await cache.read({ tlsCrt: pem(a), caCrt: undefined });
    const other = await cache.read({ tlsCrt: pem(b), caCrt: intermediate.certPem });
    assert.notEqual(other.chain.leaf, one.chain.leaf);
    assert.equal(other.chain.intermediates[0], one.chain.intermediates[0]);
    assert.equal(other.chain.extraCas[0], one.chain.intermediates[0]);
  });

  void it("keeps at most maxEntries, forgetting the least recently used", async () => {
    const cache = new ChainCache(2);
    const [a, b, c] = leaves;
    assert.ok(a !== undefined && b !== undefined && c !== undefined);
    const readA = await cache.read({ tlsCrt: pem(a), caCrt: undefined });
    await cache.read({ tlsCrt: pem(b), caCrt: undefined });
    assert.equal(await cache.read({ tlsCrt: pem(a), caCrt: undefined }), readA, "a is now the most recently used");
    await cache.read({ tlsCrt: pem(c), caCrt: undefined });
    assert.equal(cache.size, 2);
    assert.equal(await cache.read({ tlsCrt: pem(a), caCrt: undefined }), readA, "b went, not a");
  });

  void it("an issuer downloaded from AIA caIssuers is looked for again next time (the CA may publish another)", async () => {
    const cache = new ChainCache();
    let downloads = 0;
    const download = (): Promise<Certificate[]> => {
      downloads++;
      return Promise.resolve(readCertificates(intermediate.certPem, "issuer"));
    };
    await cache.read({ tlsCrt: aiaLeaf.certPem, caCrt: undefined }, download);
    await cache.read({ tlsCrt: aiaLeaf.certPem, caCrt: undefined }, download);
    assert.equal(downloads, 2);
    assert.equal(cache.size, 0);
  });

  void it("a digest the caller holds keys the entry: a hit reads nothing from the source", async () => {
    const cache = new ChainCache();
    const [first] = leaves;
    assert.ok(first !== undefined);
    let reads = 0;
    const source = { get tlsCrt() { reads++; return pem(first); }, caCrt: undefined };
    const once = await cache.read(source, undefined, "digest-of-web-tls");
    assert.equal(await cache.read(source, undefined, "digest-of-web-tls"), once);
    assert.equal(reads, 1);
  });

  void it("garbage is refused with the engine's code each time, and not kept", async () => {
    const cache = new ChainCache();
    for (let i = 0; i < 2; i++) await assert.rejects(cache.read({ tlsCrt: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n", caCrt: undefined }), (error) => isOcspError(error) && error.code === "BadCertificate");
    assert.equal(cache.size, 0);
  });
});
