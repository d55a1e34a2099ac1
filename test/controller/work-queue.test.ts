import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { WorkQueue } from "../../src/controller/work-queue.ts";

void describe("WorkQueue", () => {
  void it("hands out a key once however often it was added", async () => {
    const queue = new WorkQueue();
    for (const key of ["a", "b", "a", "a", "b"]) queue.add(key);
    assert.equal(queue.depth, 2);
    assert.deepEqual([await queue.next(), await queue.next()], ["a", "b"]);
  });

  void it("never hands out a key being processed; an add meanwhile queues it once more afterwards", async () => {
    const queue = new WorkQueue();
    queue.add("a");
    const first = await queue.next();
    queue.add("a");
    queue.add("a");
    assert.equal(queue.depth, 0, "not handed out while active");
    queue.done(first ?? "");
    assert.equal(queue.depth, 1);
    assert.equal(await queue.next(), "a");
  });

  void it("a waiting worker gets the next key added", async () => {
    const queue = new WorkQueue();
    const waiting = queue.next();
    queue.add("late");
    assert.equal(await waiting, "late");
  });

  void it("addAfter keeps the earliest delay asked for", async () => {
    const queue = new WorkQueue();
    queue.addAfter("k", 10_000);
    queue.addAfter("k", 30);
    queue.addAfter("k", 20_000);
    await sleep(80);
    assert.equal(queue.depth, 1);
    queue.shutDown();
  });

  void it("a delay beyond setTimeout's 24.8-day limit is not run at once", async () => {
    const queue = new WorkQueue();
    queue.addAfter("far", 40 * 86_400_000);
    await sleep(30);
    assert.equal(queue.depth, 0);
    queue.shutDown();
  });

  void it("shutDown releases waiting workers with undefined", async () => {
    const queue = new WorkQueue();
    const waiting = queue.next();
    queue.shutDown();
    assert.equal(await waiting, undefined);
    queue.add("ignored");
    assert.equal(queue.depth, 0);
  });

  void it("forgetDelayed drops a pending addAfter: the key is not handed out when its delay ends", async () => {
    const queue = new WorkQueue();
    queue.addAfter("deleted", 20);
    queue.forgetDelayed("deleted");
    queue.addAfter("later", 60);
    assert.equal(await queue.next(), "later");
    assert.equal(queue.depth, 0, "the forgotten key never came");
    queue.shutDown();
  });
});
