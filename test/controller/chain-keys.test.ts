// The keys a chain: Full companion adds to the leaf's (src/kube/chain-keys.ts): each
// intermediate under `<key>.<n>` for every target key, and one bundle `<first key>.pem`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bundleKey, chainData, chainKeyCollisions } from "../../src/kube/chain-keys.ts";
import { readResponseBundle } from "../../src/ocsp/response-bundle.ts";

const LEAF_DER = new Uint8Array([0x30, 0x01]);
const LEAF = { der: LEAF_DER, certStatus: { kind: "good" } };
const FIRST = new Uint8Array([0x30, 0x02]);
const SECOND = new Uint8Array([0x30, 0x03]);
const b64 = (der: Uint8Array) => Buffer.from(der).toString("base64");
const bundleOf = (data: Record<string, string>, key: string) => readResponseBundle(Buffer.from(data[key] ?? "", "base64").toString("latin1"), key).map(b64);

void describe("chain keys of a chain: Full companion", () => {
  void it("each intermediate under <key>.<n> for every target key, and the bundle <first key>.pem, leaf first", () => {
    const data = chainData(["tls.ocsp", "tls.crt.ocsp"], LEAF, { intermediates: [FIRST, SECOND], bundled: 2 });
    assert.deepEqual(Object.keys(data).sort(), ["tls.crt.ocsp.1", "tls.crt.ocsp.2", "tls.ocsp.1", "tls.ocsp.2", "tls.ocsp.pem"]);
    assert.equal(data["tls.ocsp.2"], b64(SECOND));
    assert.deepEqual(bundleOf(data, "tls.ocsp.pem"), [b64(LEAF_DER), b64(FIRST), b64(SECOND)]);
  });

  void it("a missing intermediate has no key, and the bundle stops where the plan says", () => {
    const data = chainData(["tls.ocsp"], LEAF, { intermediates: [undefined, SECOND], bundled: 0 });
    assert.deepEqual(Object.keys(data).sort(), ["tls.ocsp.2", "tls.ocsp.pem"]);
    assert.deepEqual(bundleOf(data, "tls.ocsp.pem"), [b64(LEAF_DER)]);
  });

  void it("no bundle while an intermediate is revoked (the plan bundles none) or the leaf is: the DER keys stay", () => {
    const revokedIntermediate = chainData(["tls.ocsp"], LEAF, { intermediates: [FIRST], bundled: undefined });
    assert.deepEqual(Object.keys(revokedIntermediate), ["tls.ocsp.1"]);
    const revokedLeaf = chainData(["tls.ocsp"], { der: LEAF_DER, certStatus: { kind: "revoked" } }, { intermediates: [FIRST], bundled: 1 });
    assert.deepEqual(Object.keys(revokedLeaf), ["tls.ocsp.1"]);
  });

  void it("names the bundle after the first target key", () => {
    assert.equal(bundleKey(["ocsp.der", "tls.ocsp"]), "ocsp.der.pem");
  });

  void it("finds target keys a Full chain would overwrite: another key's <key>.1 to <key>.8, and the bundle", () => {
    assert.deepEqual(chainKeyCollisions(["tls.ocsp", "tls.ocsp.1", "ocsp.staple", "tls.ocsp.pem", "ocsp.staple.8"]), ["tls.ocsp.1", "tls.ocsp.pem", "ocsp.staple.8"]);
    // Not derived: index 9 and 0, a later key's .pem, a key's own name.
    assert.deepEqual(chainKeyCollisions(["tls.ocsp", "tls.ocsp.9", "tls.ocsp.0", "ocsp.staple", "ocsp.staple.pem"]), []);
  });
});
