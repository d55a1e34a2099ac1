// Finding and confirming the issuer, from every source in order, with real
// certificates from the test PKI and a real HTTP server for AIA caIssuers.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fetchCaIssuers } from "../../src/ocsp/ca-issuers.ts";
import { MAX_CHAIN_CERTIFICATES, readChain } from "../../src/ocsp/chain.ts";
import { isOcspError } from "../../src/ocsp/errors.ts";
import { findIssuer } from "../../src/ocsp/issuer.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { LoopbackOnlyTransport } from "../support/loopback-transport.ts";
import { respondWith, startServer, type Handler, type RunningServer } from "../support/misbehaving-server.ts";
import { runOpenssl } from "../support/pki-openssl.ts";
import { createRootCa, type Issued, type TestCa } from "../support/pki.ts";

const rejectsWith = (code: string) => (error: unknown) => isOcspError(error) && error.code === code;

void describe("issuer discovery", () => {
  const transport = new LoopbackOnlyTransport();
  let root: TestCa;
  let intermediate: TestCa;
  let leaf: Issued;
  let aiaLeaf: Issued;
  let server: RunningServer;
  let serve: Handler = respondWith(404, "text/plain", "");

  before(async () => {
    server = await startServer((request, response) => { serve(request, response); });
    root = await createRootCa({ name: "issuer-root", key: "p256" });
    intermediate = await root.issueIntermediate({ name: "issuer-int" });
    leaf = await intermediate.issue({ commonName: "leaf.example" });
    aiaLeaf = await intermediate.issue({ commonName: "aia.example", caIssuersUrl: `${server.url.href}issuer` });
  });
  after(async () => { await server.close(); await transport.close(); await root.cleanup(); });

  const download = (url: string) => fetchCaIssuers(transport, url, 2_000);

  void it("takes the next certificate in the chain that signed the leaf", async () => {
    const chain = readChain(leaf.certPem + intermediate.certPem + root.certPem);
    const found = await findIssuer(chain.leaf, { chain: chain.intermediates, caCrt: [], explicit: [] });
    assert.equal(found.source, "chain");
    assert.equal(found.certificate.serial, intermediate.serialHex);
  });

  void it("skips a chain certificate that did not sign the leaf (the root listed first)", async () => {
    const chain = readChain(leaf.certPem + root.certPem + intermediate.certPem);
    const found = await findIssuer(chain.leaf, { chain: chain.intermediates, caCrt: [], explicit: [] });
    assert.equal(found.certificate.serial, intermediate.serialHex);
  });

  void it("then ca.crt", async () => {
    const chain = readChain(leaf.certPem, intermediate.certPem);
    const found = await findIssuer(chain.leaf, { chain: chain.intermediates, caCrt: chain.extraCas, explicit: [] });
    assert.equal(found.source, "ca.crt");
  });

  void it("then an explicit issuer, which must really have signed the leaf", async () => {
    const chain = readChain(leaf.certPem);
    const found = await findIssuer(chain.leaf, { chain: [], caCrt: [], explicit: readCertificates(intermediate.certPem, "issuer") });
    assert.equal(found.source, "explicit");
    await assert.rejects(findIssuer(chain.leaf, { chain: [], caCrt: [], explicit: readCertificates(root.certPem, "issuer") }), rejectsWith("NoIssuer"));
  });

  void it("then the AIA caIssuers URL, serving DER", async () => {
    serve = respondWith(200, "application/pkix-cert", readCertificates(intermediate.certPem, "int")[0]?.der ?? new Uint8Array());
    const chain = readChain(aiaLeaf.certPem);
    const found = await findIssuer(chain.leaf, { chain: [], caCrt: [], explicit: [], download });
    assert.equal(found.source, "aia");
    assert.equal(found.certificate.serial, intermediate.serialHex);
  });

  void it("then the AIA caIssuers URL, serving a certs-only PKCS#7", async () => {
    const p7 = join(root.dir, "issuer.p7c");
    await runOpenssl(["crl2pkcs7", "-nocrl", "-certfile", root.certPath, "-certfile", intermediate.certPath, "-outform", "DER", "-out", p7]);
    serve = respondWith(200, "application/pkcs7-mime", new Uint8Array(await readFile(p7)));
    const found = await findIssuer(readChain(aiaLeaf.certPem).leaf, { chain: [], caCrt: [], explicit: [], download });
    assert.equal(found.certificate.serial, intermediate.serialHex);
  });

  void it("an AIA URL serving an HTML page: NoIssuer, naming the URL", async () => {
    serve = respondWith(200, "text/html", "<html>moved</html>");
    await assert.rejects(findIssuer(readChain(aiaLeaf.certPem).leaf, { chain: [], caCrt: [], explicit: [], download }), (error) => rejectsWith("NoIssuer")(error) && error instanceof Error && error.message.includes(server.url.host));
  });

  void it("nothing anywhere: NoIssuer that says what to do", async () => {
    await assert.rejects(findIssuer(readChain(leaf.certPem).leaf, { chain: [], caCrt: [], explicit: [], download }), (error) => rejectsWith("NoIssuer")(error) && error instanceof Error && error.message.includes("--issuer"));
  });
});

void describe("reading certificates", () => {
  void it("garbage is BadCertificate", () => {
    assert.throws(() => readChain("hello, world"), rejectsWith("BadCertificate"));
    assert.throws(() => readChain("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n"), rejectsWith("BadCertificate"));
    assert.throws(() => readChain("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), rejectsWith("BadCertificate"));
  });

  void it("a private key pasted in place of a chain is refused without echoing it", () => {
    const key = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIKEYMATERIALKEYMATERIALKEYMATERIAL000000\n-----END PRIVATE KEY-----\n";
    assert.throws(() => readChain(key), (error) => rejectsWith("BadCertificate")(error) && error instanceof Error && !error.message.includes("KEYMATERIAL"));
  });
});

void describe("the length of a chain", () => {
  let root: TestCa;
  let leaf: Issued;
  let others: Issued[];

  before(async () => {
    root = await createRootCa({ name: "chain-length-root", key: "p256" });
    leaf = await root.issue({ commonName: "leaf.example" });
    others = await Promise.all(Array.from({ length: 3 }, (_, i) => root.issue({ commonName: `other-${i}.example` })));
  });
  after(async () => { await root.cleanup(); });

  const bundle = (count: number) => Array.from({ length: count }, (_, i) => others[i % others.length]?.certPem ?? "").join("");

  void it(`takes up to ${MAX_CHAIN_CERTIFICATES} certificates in tls.crt`, () => {
    const chain = readChain(leaf.certPem + root.certPem + bundle(MAX_CHAIN_CERTIFICATES - 2));
    assert.equal(chain.intermediates.length, MAX_CHAIN_CERTIFICATES - 1);
  });

  void it("more is BadCertificate, saying how many and what to do", () => {
    for (const count of [MAX_CHAIN_CERTIFICATES + 1, 50]) {
      assert.throws(() => readChain(leaf.certPem + root.certPem + bundle(count - 2)), (error) =>
        rejectsWith("BadCertificate")(error) && error instanceof Error && error.message.includes(`tls.crt holds ${count} certificates`) && error.message.includes("remove the others"));
    }
  });

  void it("counts before decoding: 50 junk blocks fail on their number, not on the first one's contents", () => {
    const junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".repeat(50);
    assert.throws(() => readChain(junk), (error) => rejectsWith("BadCertificate")(error) && error instanceof Error && error.message.includes("holds 50 certificates"));
  });

  void it("ca.crt may hold a bundle of any length", () => {
    const chain = readChain(leaf.certPem, root.certPem + bundle(40));
    assert.equal(chain.extraCas.length, 41);
  });
});
