// The fake scheduler the timing tests stand on: if it fired timers out of order or
// early, those tests would prove nothing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeScheduler } from "./fake-scheduler.ts";

void describe("FakeScheduler", () => {
  void it("fires due timers in time order, each at its own instant, and none that is not due", async () => {
    const clock = new FakeScheduler(new Date(0));
    const fired: string[] = [];
    clock.setTimer(300, () => fired.push(`c@${String(clock.now().getTime())}`));
    clock.setTimer(100, () => fired.push(`a@${String(clock.now().getTime())}`));
    clock.setTimer(100, () => fired.push(`b@${String(clock.now().getTime())}`));
    clock.setTimer(301, () => fired.push("late"));
    await clock.advance(300);
    assert.deepEqual(fired, ["a@100", "b@100", "c@300"]);
    assert.deepEqual(clock.pending, [1]);
    assert.equal(clock.now().getTime(), 300);
  });

  void it("fires timers set by callbacks within the span, after the promise callbacks they started", async () => {
    const clock = new FakeScheduler(new Date(0));
    const fired: number[] = [];
    // A loop that waits, then awaits something, then waits again: the shape of a retry loop.
    void (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(1_000);
        await Promise.resolve();
        fired.push(clock.now().getTime());
      }
    })();
    await clock.advance(2_500);
    assert.deepEqual(fired, [1_000, 2_000]);
    await clock.advance(500);
    assert.deepEqual(fired, [1_000, 2_000, 3_000]);
  });

  void it("a cancelled timer never fires; an aborted sleep resolves at once", async () => {
    const clock = new FakeScheduler();
    let fired = false;
    clock.setTimer(10, () => { fired = true; }).cancel();
    const stop = new AbortController();
    let woke = false;
    void clock.sleep(60_000, stop.signal).then(() => { woke = true; });
    stop.abort();
    await clock.settle();
    assert.equal(woke, true);
    assert.deepEqual(clock.pending, [], "the aborted sleep left no timer");
    await clock.advance(10);
    assert.equal(fired, false);
  });
});
