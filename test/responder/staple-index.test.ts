import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ServableStaple } from "../../src/responder/servable-staple.ts";
import { StapleIndex } from "../../src/responder/staple-index.ts";

const staple = (name: string, keys: readonly string[], thisUpdateMs: number, usableUntilMs: number): ServableStaple =>
  ({ der: Buffer.from(name), certIdKeys: keys, thisUpdateMs, usableUntilMs, etag: `"${name}"` });

void describe("StapleIndex: staples by source and by CertID", () => {
  void it("serves the newest usable staple for a CertID among several sources", () => {
    const index = new StapleIndex();
    index.set("companions/a", [staple("older", ["k"], 1_000, 10_000)]);
    index.set("tls-secrets/a", [staple("newer", ["k"], 2_000, 5_000)]);
    assert.equal(index.lookup(["k"], 3_000)?.der.toString(), "newer");
    assert.equal(index.lookup(["k"], 6_000)?.der.toString(), "older", "the newer one's usable end passed");
    assert.equal(index.lookup(["k"], 10_000), undefined, "usable until, exclusive");
  });

  void it("a source set again replaces what it held; an empty list forgets it", () => {
    const index = new StapleIndex();
    index.set("companions/a", [staple("first", ["k1", "k2"], 1_000, 10_000)]);
    index.set("companions/a", [staple("second", ["k2"], 2_000, 10_000)]);
    assert.equal(index.lookup(["k1"], 3_000), undefined);
    assert.equal(index.lookup(["k2"], 3_000)?.der.toString(), "second");
    assert.equal(index.size, 1);
    index.set("companions/a", []);
    assert.equal(index.lookup(["k2"], 3_000), undefined);
    assert.equal(index.size, 0);
  });

  void it("several CertIDs: only a staple that answers all of them", () => {
    const index = new StapleIndex();
    index.set("one", [staple("single", ["a"], 2_000, 10_000)]);
    index.set("pair", [staple("pair", ["a", "b"], 1_000, 10_000)]);
    assert.equal(index.lookup(["a", "b"], 3_000)?.der.toString(), "pair");
    assert.equal(index.lookup(["a"], 3_000)?.der.toString(), "single");
    assert.equal(index.lookup(["a", "c"], 3_000), undefined);
  });
});
