// The controller's two semaphores: workers (a reconcile gives its slot back while it
// waits) and API writers (at most so many writes in flight, from all reconciles).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Slots } from "../../src/controller/slots.ts";
import { settle } from "../support/fake-scheduler.ts";

/** A piece of work the test finishes by hand. */
function pending(): { promise: Promise<void>; finish: () => void; fail: () => void } {
  let finish = (): void => undefined;
  let fail = (): void => undefined;
  const promise = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = () => { reject(new Error("the write failed")); };
  });
  return { promise, finish, fail };
}

void describe("Slots", () => {
  void it("run: never more than `size` pieces of work at once; the next starts as one ends", async () => {
    const writers = new Slots(3);
    const works = Array.from({ length: 10 }, pending);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const all = works.map((work, index) => writers.run(async () => {
      running++;
      most = Math.max(most, running);
      started.push(index);
      await work.promise;
      running--;
    }));
    await Promise.resolve();
    assert.deepEqual(started, [0, 1, 2]);
    works[1]?.finish();
    await settle();
    assert.deepEqual(started, [0, 1, 2, 3]);
    for (const work of works) work.finish();
    await Promise.all(all);
    assert.equal(most, 3);
    assert.equal(started.length, 10);
  });

  void it("run: a failed piece of work frees its slot", async () => {
    const writers = new Slots(1);
    const first = pending();
    const failed = writers.run(() => first.promise);
    let secondRan = false;
    const second = writers.run(() => { secondRan = true; return Promise.resolve(); });
    first.fail();
    await assert.rejects(failed, /the write failed/);
    await second;
    assert.ok(secondRan);
  });

  void it("whileWaiting: the slot is free while the awaited work is pending, and taken again after", async () => {
    const workers = new Slots(1);
    await workers.acquire();
    const write = pending();
    const waiting = workers.whileWaiting(write.promise);
    let otherGotIt = false;
    const other = workers.acquire().then(() => { otherGotIt = true; });
    await other;
    assert.ok(otherGotIt, "another reconcile took the slot while the first waited");
    write.finish();
    let back = false;
    const resumed = waiting.then(() => { back = true; });
    await settle();
    assert.equal(back, false, "the waiting reconcile needs a slot again before it goes on");
    workers.release();
    await resumed;
    assert.ok(back);
  });
});
