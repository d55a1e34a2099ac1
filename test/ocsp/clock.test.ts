// The real scheduler's own logic, on Node's mocked timers (no waiting): delays
// beyond setTimeout's 2^31-1 ms limit, cancelling, and a sleep that a signal wakes.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import { systemClock } from "../../src/ocsp/clock.ts";

const DAY_MS = 86_400_000;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

void describe("systemClock's timers", () => {
  beforeEach(() => { mock.timers.enable({ apis: ["setTimeout"] }); });
  afterEach(() => { mock.restoreAll(); mock.timers.reset(); });

  void it("a delay of 40 days fires after 40 days, armed in pieces setTimeout accepts (it fires at once for more)", () => {
    const armed = mock.method(globalThis, "setTimeout");
    let fired = false;
    systemClock.setTimer(40 * DAY_MS, () => { fired = true; }, { unref: true });
    mock.timers.tick(MAX_TIMEOUT_MS);
    assert.equal(fired, false, "not after the first 24.8 days");
    mock.timers.tick(40 * DAY_MS - MAX_TIMEOUT_MS - 1);
    assert.equal(fired, false, "not a millisecond early");
    mock.timers.tick(1);
    assert.equal(fired, true);
    const delays = armed.mock.calls.map((call) => Number(call.arguments[1]));
    assert.deepEqual(delays, [MAX_TIMEOUT_MS, 40 * DAY_MS - MAX_TIMEOUT_MS]);
  });

  void it("a cancelled timer never fires, also after its first piece of a long delay", () => {
    let fired = 0;
    systemClock.setTimer(10, () => { fired++; }).cancel();
    const long = systemClock.setTimer(30 * DAY_MS, () => { fired++; });
    mock.timers.tick(MAX_TIMEOUT_MS);
    long.cancel();
    mock.timers.tick(30 * DAY_MS);
    assert.equal(fired, 0);
  });

  void it("sleep resolves when its time is up, or at once when its signal aborts", async () => {
    const order: string[] = [];
    const stop = new AbortController();
    const woken = systemClock.sleep(60_000, stop.signal).then(() => order.push("woken"));
    const slept = systemClock.sleep(1_000).then(() => order.push("slept"));
    stop.abort();
    await woken;
    mock.timers.tick(1_000);
    await slept;
    assert.deepEqual(order, ["woken", "slept"]);
  });
});
