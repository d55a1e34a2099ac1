// The cache map with an index (companions by their source Secret): kept right
// through the reflector's set, replace, delete and clear.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { IndexedMap } from "../../src/kube/indexed-map.ts";

interface Companion { readonly name: string; readonly source: string }

const names = (map: IndexedMap<Companion>, source: string) => [...map.itemsFor(source)].map((item) => item.name).sort();

void describe("IndexedMap", () => {
  void it("finds the items of one index value, and only those", () => {
    const map = new IndexedMap<Companion>((item) => item.source);
    map.set("a", { name: "a", source: "web" }).set("b", { name: "b", source: "web" }).set("c", { name: "c", source: "api" });
    assert.deepEqual(names(map, "web"), ["a", "b"]);
    assert.deepEqual(names(map, "api"), ["c"]);
    assert.deepEqual(names(map, "none"), []);
  });

  void it("an item replaced under another index value moves; a deleted one goes", () => {
    const map = new IndexedMap<Companion>((item) => item.source);
    map.set("a", { name: "a", source: "web" });
    map.set("a", { name: "a", source: "api" });
    assert.deepEqual(names(map, "web"), []);
    assert.deepEqual(names(map, "api"), ["a"]);
    assert.equal(map.delete("a"), true);
    assert.deepEqual(names(map, "api"), []);
    assert.equal(map.delete("a"), false);
  });

  void it("clear empties the index too (a relist)", () => {
    const map = new IndexedMap<Companion>((item) => item.source);
    map.set("a", { name: "a", source: "web" });
    map.clear();
    assert.deepEqual(names(map, "web"), []);
    assert.equal(map.size, 0);
  });
});
