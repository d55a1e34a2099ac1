import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EventSpamFilter } from "../../src/kube/event-spam-filter.ts";

void describe("the Event spam filter", () => {
  void it("lets 25 Events about one object through at once, then one per 5 minutes", () => {
    const filter = new EventSpamFilter();
    const allowed = Array.from({ length: 30 }, () => filter.allow("config-uid", 0)).filter(Boolean).length;
    assert.equal(allowed, 25);
    assert.equal(filter.allow("config-uid", 4 * 60_000), false);
    assert.equal(filter.allow("config-uid", 5 * 60_000), true);
    assert.equal(filter.allow("config-uid", 5 * 60_000), false);
  });

  void it("counts each object apart: every Secret of a large fleet gets its Event", () => {
    const filter = new EventSpamFilter();
    const allowed = Array.from({ length: 3_000 }, (_, i) => filter.allow(`secret-${String(i)}`, i)).filter(Boolean).length;
    assert.equal(allowed, 3_000);
  });

  void it("forgets objects whose bucket has refilled, so its memory follows the objects with recent Events", () => {
    const filter = new EventSpamFilter();
    for (let i = 0; i < 5_000; i++) filter.allow(`first-${String(i)}`, 0);
    for (let i = 0; i < 5_000; i++) filter.allow(`second-${String(i)}`, 10 * 60_000);
    assert.equal(filter.tracked, 5_000);
  });
});
