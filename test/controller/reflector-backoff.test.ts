// The reflector's timing, on manual time: how long it waits between failed LISTs and
// failed watches (doubling, capped, never under Retry-After), that a normal end
// reconnects at once, and that a stop wakes a waiting retry. The LIST and the watch
// are fakes that answer at once; test/kube/reflector.test.ts runs it on a real API server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiException } from "@kubernetes/client-node";
import { pino } from "pino";
import { Reflector, type ListResult, type ReflectorEnd } from "../../src/kube/reflector.ts";
import { FakeScheduler } from "../support/fake-scheduler.ts";

/** Stands in for client-node's Watch: records each watch, so the test ends it as it likes. */
class FakeWatch {
  readonly started: { readonly query: Record<string, unknown>; readonly done: (error: unknown) => void }[] = [];

  watch(_path: string, query: Record<string, unknown>, _callback: (phase: string, object: unknown) => void, done: (error: unknown) => void): Promise<AbortController> {
    this.started.push({ query, done });
    return Promise.resolve(new AbortController());
  }

  /** Ends the latest watch as the server or the network would. */
  end(error: unknown): void {
    const latest = this.started.at(-1);
    assert.ok(latest, "a watch is running");
    latest.done(error);
  }
}

/** A reflector whose LIST fails `failingLists` times, then answers an empty list. */
function reflectorOnFakes(failingLists: number, listError: () => Error = () => new Error("connect ECONNREFUSED 127.0.0.1:6443")) {
  const clock = new FakeScheduler(new Date(0));
  const watch = new FakeWatch();
  const ends: ReflectorEnd[] = [];
  let lists = 0;
  const list = (): Promise<ListResult> => (++lists <= failingLists ? Promise.reject(listError()) : Promise.resolve({ items: [], resourceVersion: "7" }));
  const reflector = new Reflector<string>({
    name: "test", list, watch, clock, watchPath: "/api/v1/secrets", watchQuery: {},
    transform: (raw) => String(raw), keyOf: (item) => item, onChange: () => undefined,
    logger: pino({ level: "silent" }), onEnd: (end) => ends.push(end),
  });
  return { clock, watch, ends, reflector, lists: () => lists };
}

void describe("the reflector's backoff, on manual time", () => {
  void it("retries a failing LIST after 200 ms, doubling, and is synced by the first that answers", async () => {
    const { clock, watch, reflector, lists } = reflectorOnFakes(4);
    let synced: boolean | undefined;
    void reflector.start().then((value) => { synced = value; });
    for (const delay of [200, 400, 800, 1_600]) {
      await clock.settle();
      assert.deepEqual(clock.pending, [delay], `waits ${String(delay)} ms after LIST ${String(lists())}`);
      assert.equal(reflector.failingSince, 0, "failing since the first failure");
      await clock.advance(delay);
    }
    assert.equal(lists(), 5);
    assert.equal(synced, true);
    assert.equal(reflector.failingSince, undefined, "a LIST that answered ends the failure");
    assert.equal(watch.started.length, 1);
    assert.equal(watch.started[0]?.query.resourceVersion, "7", "the watch starts from the list's version");
    reflector.stop();
  });

  void it("caps the wait at 30 s however long the API server stays away", async () => {
    const { clock, reflector } = reflectorOnFakes(Number.POSITIVE_INFINITY);
    void reflector.start();
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      await clock.settle();
      const [wait] = clock.pending;
      assert.ok(wait !== undefined);
      waits.push(wait);
      await clock.advance(wait);
    }
    assert.deepEqual(waits, [200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000]);
    reflector.stop();
  });

  void it("waits at least as long as a 429's Retry-After", async () => {
    const tooMany = () => new ApiException(429, "too many requests", {}, { "retry-after": "3" });
    const { clock, reflector } = reflectorOnFakes(1, tooMany);
    void reflector.start();
    await clock.settle();
    assert.deepEqual(clock.pending, [3_000]);
    reflector.stop();
  });

  void it("a stop wakes a LIST retry that is waiting: start resolves false without time passing", async () => {
    const { clock, reflector } = reflectorOnFakes(Number.POSITIVE_INFINITY);
    let synced: boolean | undefined;
    void reflector.start().then((value) => { synced = value; });
    await clock.settle();
    assert.deepEqual(clock.pending, [200]);
    reflector.stop();
    await clock.settle();
    assert.equal(synced, false);
    assert.deepEqual(clock.pending, [], "no timer left behind");
  });

  void it("a failed watch reconnects after a doubling backoff; a normal end reconnects at once", async () => {
    const { clock, watch, ends, reflector } = reflectorOnFakes(0);
    assert.equal(await reflector.start(), true);
    await clock.settle();
    for (const delay of [200, 400]) {
      watch.end(new Error("socket hang up"));
      assert.deepEqual(clock.pending, [delay]);
      const before = watch.started.length;
      await clock.advance(delay - 1);
      assert.equal(watch.started.length, before, "not before its backoff");
      await clock.advance(1);
      assert.equal(watch.started.length, before + 1, "reconnected when its backoff ended");
    }
    watch.end(null);
    assert.deepEqual(clock.pending, [0], "the server's own end: at once");
    await clock.advance(0);
    assert.deepEqual(ends, ["failed", "failed", "closed"]);
    reflector.stop();
  });
});
