// The per-item backoff for work that threw: the delays it hands out, and that it
// forgets items (no leak), then the same delays played on the work queue under fake time.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ERROR_BACKOFF, ErrorBackoff } from "../../src/controller/error-backoff.ts";
import { WorkQueue } from "../../src/controller/work-queue.ts";
import { FakeScheduler } from "../support/fake-scheduler.ts";

const MINUTE_MS = 60_000;

/** The delay after the n-th consecutive failure of one item, with `random` fixed. */
function delayAfter(failures: number, random: number, floorMs?: number): number {
  const backoff = new ErrorBackoff(() => random);
  let delay = 0;
  for (let i = 0; i < failures; i++) delay = backoff.failed("item", floorMs);
  return delay;
}

void describe("ErrorBackoff", () => {
  const cases: { name: string; failures: number; random: number; floorMs?: number; delayMs: number }[] = [
    { name: "first failure, no jitter", failures: 1, random: 0, delayMs: 1_000 },
    { name: "first failure, most jitter: up to a fifth earlier", failures: 1, random: 0.999_999, delayMs: 800 },
    { name: "second failure doubles", failures: 2, random: 0, delayMs: 2_000 },
    { name: "fifth failure", failures: 5, random: 0.5, delayMs: 16_000 * 0.9 },
    { name: "eighth failure", failures: 8, random: 0, delayMs: 128_000 },
    { name: "capped at 5 minutes from the tenth", failures: 10, random: 0, delayMs: 5 * MINUTE_MS },
    { name: "stays capped however long it fails", failures: 200, random: 0, delayMs: 5 * MINUTE_MS },
    { name: "Retry-After above the backoff is a floor", failures: 1, random: 0.5, floorMs: 2_000, delayMs: 2_000 },
    { name: "Retry-After below the backoff changes nothing", failures: 4, random: 0, floorMs: 2_000, delayMs: 8_000 },
  ];
  for (const { name, failures, random, floorMs, delayMs } of cases) {
    void it(name, () => {
      assert.equal(Math.round(delayAfter(failures, random, floorMs)), delayMs);
    });
  }

  void it("counts each item on its own; success or deletion forgets it, so nothing is kept for items not failing", () => {
    const backoff = new ErrorBackoff(() => 0);
    for (let i = 0; i < 3; i++) backoff.failed("flaky");
    assert.equal(backoff.failed("other"), ERROR_BACKOFF.initialMs, "another item starts at the beginning");
    assert.equal(backoff.failuresOf("flaky"), 3);
    backoff.forget("flaky");
    assert.equal(backoff.failed("flaky"), ERROR_BACKOFF.initialMs, "after success, the next failure starts again at 1 s");
    backoff.forget("flaky");
    backoff.forget("other");
    assert.equal(backoff.size, 0);
  });

  void it("on the work queue, an item failing again and again comes back 1, 2, 4 and 8 s after each failure", async () => {
    const clock = new FakeScheduler(new Date(0));
    const queue = new WorkQueue<string>(clock, (key) => key);
    const backoff = new ErrorBackoff(() => 0);
    const tries: number[] = [];
    queue.add("item");
    for (let attempt = 0; attempt < 5; attempt++) {
      // The runner's loop: take the item, fail, requeue it after the backoff.
      while (queue.depth === 0) await clock.advance(100);
      const item = await queue.next();
      assert.equal(item, "item");
      tries.push(clock.now().getTime());
      queue.addAfter(item, backoff.failed(item));
      queue.done(item);
    }
    assert.deepEqual(tries, [0, 1_000, 3_000, 7_000, 15_000]);
  });
});
