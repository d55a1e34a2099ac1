// The engine's whole-chain entry points, fetchChainStaples and
// verifyChainStaples, against real `openssl ocsp` responders: the root's
// answers for the intermediates, each intermediate's for its leaf.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { readChain, type Chain } from "../../src/ocsp/chain.ts";
import type { ChainFetchResult } from "../../src/ocsp/chain-fetch.ts";
import { verifyChainStaples, type ChainVerifyResult } from "../../src/ocsp/chain-verify.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import type { Certificate } from "../../src/ocsp/certificate.ts";
import { isOcspError } from "../../src/ocsp/errors.ts";
import { OcspClient } from "../../src/ocsp/ocsp-client.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { ChainRig, INTERMEDIATE_REVOKED_AT, type IntermediateState, type RigChain } from "../support/chain-rig.ts";
import { LoopbackOnlyTransport } from "../support/loopback-transport.ts";

/** Each result as "role: status" or "role: CODE", for one-line assertions. */
function outcomes(results: readonly (ChainFetchResult | ChainVerifyResult)[]): string[] {
  return results.map((result) => {
    if (!result.ok) return `${result.role}: ${result.error.code}`;
    const response = "response" in result.staple ? result.staple.response : result.staple;
    return `${result.role}: ${response.certStatus.kind}`;
  });
}

void describe("fetchChainStaples and verifyChainStaples", () => {
  const transport = new LoopbackOnlyTransport();
  const client = new OcspClient({ transport, clock: systemClock });
  let rig: ChainRig;
  let rootCertificate: Certificate[];
  const chains = new Map<IntermediateState, { rig: RigChain; chain: Chain }>();

  before(async () => {
    rig = await ChainRig.start("engine-chain");
    rootCertificate = readCertificates(rig.root.certPem, "the root");
    for (const state of ["good", "revoked", "no-ocsp-url", "responder-down"] as const) {
      const made = await rig.chain(`engine-${state}`, state);
      chains.set(state, { rig: made, chain: readChain(await readFile(made.chainPath)) });
    }
  });
  after(async () => { await transport.close(); await rig.stop(); });

  const chainOf = (state: IntermediateState) => chains.get(state) ?? assert.fail(`no ${state} chain`);
  // The served chain stops at the intermediate: the root, its issuer, is given as --issuer would give it.
  const fetchAll = (state: IntermediateState) => client.fetchChainStaples({ chain: chainOf(state).chain, explicitIssuers: rootCertificate, timeoutMs: 5_000 });

  void it("all good: one verified result per element, leaf first, each from its own CA's responder", async () => {
    const results = await fetchAll("good");
    assert.deepEqual(outcomes(results), ["leaf: good", "intermediate: good"]);
    const [leaf, intermediate] = results;
    assert.ok(leaf?.ok === true && intermediate?.ok === true);
    assert.equal(leaf.staple.responder, chainOf("good").rig.leafResponder.url);
    assert.equal(leaf.staple.serial, chainOf("good").rig.leaf.serialHex);
    assert.equal(intermediate.staple.responder, rig.rootResponder.url);
    assert.equal(intermediate.staple.serial, chainOf("good").rig.intermediate.serialHex);
    assert.deepEqual([leaf.staple.issuerSource, intermediate.staple.issuerSource], ["chain", "explicit"]);
  });

  void it("a revoked intermediate is its element's verified answer, with its time and reason", async () => {
    const results = await fetchAll("revoked");
    assert.deepEqual(outcomes(results), ["leaf: good", "intermediate: revoked"]);
    const status = results[1]?.ok === true ? results[1].staple.certStatus : undefined;
    assert.deepEqual(status, { kind: "revoked", revokedAt: INTERMEDIATE_REVOKED_AT, reason: "cACompromise" });
  });

  void it("an intermediate without an OCSP URL fails alone (NoResponderURL); the leaf is fetched and verified", async () => {
    assert.deepEqual(outcomes(await fetchAll("no-ocsp-url")), ["leaf: good", "intermediate: NoResponderURL"]);
  });

  void it("the intermediate's responder down while the leaf's is up: ResponderUnreachable for it alone", async () => {
    assert.deepEqual(outcomes(await fetchAll("responder-down")), ["leaf: good", "intermediate: ResponderUnreachable"]);
  });

  void it("without its issuer an intermediate fails alone with NoIssuer, and nothing is asked for it", async () => {
    const before = rig.rootResponder.requests.length;
    const results = await client.fetchChainStaples({ chain: chainOf("good").chain });
    assert.deepEqual(outcomes(results), ["leaf: good", "intermediate: NoIssuer"]);
    assert.equal(rig.rootResponder.requests.length, before);
  });

  void it("--url replaces the leaf's responder only", async () => {
    const results = await client.fetchChainStaples({ chain: chainOf("good").chain, explicitIssuers: rootCertificate, urlOverride: chainOf("revoked").rig.leafResponder.url });
    // The revoked chain's leaf responder is another CA's: its answer is signed by a CA that may not speak for this leaf.
    assert.deepEqual(outcomes(results), ["leaf: UnauthorizedSigner", "intermediate: good"]);
  });

  void it("verifyChainStaples accepts what was fetched, element by element", async () => {
    const fetched = await fetchAll("revoked");
    const ders = fetched.map((result) => result.ok ? result.staple.der : assert.fail(result.error.message));
    const verified = await verifyChainStaples(ders, { chain: chainOf("revoked").chain, explicitIssuers: rootCertificate, at: new Date() });
    assert.deepEqual(outcomes(verified), ["leaf: good", "intermediate: revoked"]);
    assert.deepEqual(verified.map((result) => result.ok ? result.staple.issuer.source : "-"), ["chain", "explicit"]);
  });

  void it("verifyChainStaples judges each response against its own element: swapped, both are refused (each signed by a CA that may not speak for the other)", async () => {
    const ders = (await fetchAll("good")).map((result) => result.ok ? result.staple.der : assert.fail(result.error.message));
    const swapped = await verifyChainStaples([...ders].reverse(), { chain: chainOf("good").chain, explicitIssuers: rootCertificate, at: new Date() });
    assert.deepEqual(outcomes(swapped), ["leaf: UnauthorizedSigner", "intermediate: UnauthorizedSigner"]);
    const later = await verifyChainStaples(ders, { chain: chainOf("good").chain, explicitIssuers: rootCertificate, at: new Date(Date.now() + 30 * 86_400_000) });
    assert.deepEqual(outcomes(later), ["leaf: Expired", "intermediate: Expired"]);
    const leafOnly = await verifyChainStaples(ders.slice(0, 1), { chain: chainOf("good").chain, at: new Date() });
    assert.deepEqual(outcomes(leafOnly), ["leaf: good"]);
  });

  void it("verifyChainStaples refuses more responses than the chain has elements (BadInput)", async () => {
    const ders = (await fetchAll("good")).map((result) => result.ok ? result.staple.der : assert.fail(result.error.message));
    const leafAlone = readChain(chainOf("good").rig.leaf.certPem);
    await assert.rejects(verifyChainStaples(ders, { chain: leafAlone, at: new Date() }), (error) => isOcspError(error) && error.code === "BadInput" && error.message.includes("2 responses"));
  });
});
