import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { WorkQueue } from "../../src/controller/work-queue.ts";
import { secretItem, statusItem, workItemId } from "../../src/controller/work-item.ts";
import { FakeScheduler } from "../support/fake-scheduler.ts";

const DAY_MS = 86_400_000;

/** A queue of plain strings on manual time. */
function stringQueue(): { queue: WorkQueue<string>; clock: FakeScheduler } {
  const clock = new FakeScheduler();
  return { queue: new WorkQueue<string>(clock, (key) => key), clock };
}

void describe("WorkQueue", () => {
  void it("hands out a key once however often it was added", async () => {
    const { queue } = stringQueue();
    for (const key of ["a", "b", "a", "a", "b"]) queue.add(key);
    assert.equal(queue.depth, 2);
    assert.deepEqual([await queue.next(), await queue.next()], ["a", "b"]);
  });

  void it("never hands out a key being processed; an add meanwhile queues it once more afterwards", async () => {
    const { queue } = stringQueue();
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
    const { queue } = stringQueue();
    const waiting = queue.next();
    queue.add("late");
    assert.equal(await waiting, "late");
  });

  void it("addAfter keeps the earliest delay asked for", async () => {
    const { queue, clock } = stringQueue();
    queue.addAfter("k", 10_000);
    queue.addAfter("k", 30);
    queue.addAfter("k", 20_000);
    assert.deepEqual(clock.pending, [30], "one timer, at the earliest delay");
    await clock.advance(29);
    assert.equal(queue.depth, 0, "not before its delay");
    await clock.advance(1);
    assert.equal(queue.depth, 1);
    assert.deepEqual(clock.pending, [], "the later delays left no timer behind");
  });

  void it("a delay beyond setTimeout's 24.8-day limit comes when it is due, not at once", async () => {
    const { queue, clock } = stringQueue();
    queue.addAfter("far", 40 * DAY_MS);
    await clock.advance(40 * DAY_MS - 1);
    assert.equal(queue.depth, 0);
    await clock.advance(1);
    assert.equal(queue.depth, 1);
  });

  void it("shutDown releases waiting workers with undefined and drops pending delays", async () => {
    const { queue, clock } = stringQueue();
    const waiting = queue.next();
    queue.addAfter("later", 1_000);
    queue.shutDown();
    assert.equal(await waiting, undefined);
    assert.deepEqual(clock.pending, []);
    queue.add("ignored");
    queue.addAfter("ignored too", 1_000);
    assert.equal(queue.depth, 0);
    assert.deepEqual(clock.pending, [], "no timer armed after shutDown");
  });

  void it("forgetDelayed drops a pending addAfter: the key is not handed out when its delay ends", async () => {
    const { queue, clock } = stringQueue();
    queue.addAfter("deleted", 20);
    queue.forgetDelayed("deleted");
    queue.addAfter("later", 60);
    await clock.advance(60);
    assert.equal(queue.depth, 1, "only one key came");
    assert.equal(await queue.next(), "later");
  });

  void it("whenIdle resolves once every item added has been handed out and done, not before", async () => {
    const { queue, clock } = stringQueue();
    queue.add("a");
    queue.add("b");
    queue.addAfter("c", 60_000);
    let idle = false;
    void queue.whenIdle().then(() => { idle = true; });
    const [a, b] = [await queue.next(), await queue.next()];
    queue.done(a ?? "");
    await clock.settle();
    assert.equal(idle, false, "b is still being processed");
    queue.done(b ?? "");
    await clock.settle();
    assert.equal(idle, true, "an item waiting on addAfter does not count");
  });

  void it("whenIdle(shortDelayMs) also waits for items deferred that briefly (a status batch), not for longer ones (a refresh)", async () => {
    const { queue, clock } = stringQueue();
    queue.addAfter("batch", 1_000);
    queue.addAfter("refresh", DAY_MS);
    let idle = false;
    void queue.whenIdle(1_000).then(() => { idle = true; });
    await clock.settle();
    assert.equal(idle, false, "the batch was deferred briefly");
    await clock.advance(1_000);
    const batch = await queue.next();
    await clock.settle();
    assert.equal(idle, false, "the batch is being processed");
    queue.done(batch ?? "");
    await clock.settle();
    assert.equal(idle, true, "the refresh a day away does not count");
  });

  void it("whenIdle(shortDelayMs) counts an item by the delay it was deferred for, not by the clock: a clock moved days ahead does not make a refresh count", async () => {
    const clock = new FakeScheduler();
    let offsetMs = 0;
    const moved = { now: () => new Date(clock.now().getTime() + offsetMs), setTimer: clock.setTimer.bind(clock), sleep: clock.sleep.bind(clock) };
    const queue = new WorkQueue<string>(moved, (key) => key);
    queue.addAfter("refresh", DAY_MS);
    offsetMs = 4 * DAY_MS; // as kube/controller-failures moves the controller's clock; the timer still waits a day
    let idle = false;
    void queue.whenIdle(1_000).then(() => { idle = true; });
    await clock.settle();
    assert.equal(idle, true);
  });

  void it("whenIdle(shortDelayMs) resolves when the item it waits for is forgotten, or the queue shut down", async () => {
    const { queue, clock } = stringQueue();
    queue.addAfter("deleted", 500);
    let forgotten = false;
    void queue.whenIdle(1_000).then(() => { forgotten = true; });
    queue.forgetDelayed("deleted");
    await clock.settle();
    assert.equal(forgotten, true);
    queue.addAfter("pending", 500);
    let stopped = false;
    void queue.whenIdle(1_000).then(() => { stopped = true; });
    queue.shutDown();
    await clock.settle();
    assert.equal(stopped, true);
  });

  void it("dedupes typed items by identity: a Secret and a StapleConfig of the same name are two items", async () => {
    const queue = new WorkQueue(new FakeScheduler(), workItemId);
    for (const item of [secretItem("shop/web"), statusItem("shop/web"), secretItem("shop/web"), statusItem("shop/web")]) queue.add(item);
    assert.equal(queue.depth, 2);
    assert.deepEqual([await queue.next(), await queue.next()], [{ kind: "secret", key: "shop/web" }, { kind: "status", config: "shop/web" }]);
  });
});
