// Reflectors of several watched namespaces fill one shared cache (the controller's
// `--namespace a --namespace b`): a LIST of one namespace must never remove what
// another namespace's reflector put there.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiException } from "@kubernetes/client-node";
import { pino } from "pino";
import { Reflector, type ListResult } from "../../src/kube/reflector.ts";
import { FakeScheduler } from "../support/fake-scheduler.ts";

/** One namespace's reflector over `store`, listing `items()`; `endWatch` ends its watch as the API server would. */
function namespaceReflector(store: Map<string, string>, clock: FakeScheduler, items: () => string[]) {
  let endWatch: (error: unknown) => void = () => undefined;
  const watch = {
    watch: (_path: string, _query: unknown, _callback: unknown, done: (error: unknown) => void) => {
      endWatch = done;
      return Promise.resolve(new AbortController());
    },
  };
  const reflector = new Reflector<string>({
    name: "test", watch, clock, watchPath: "/api/v1/secrets", watchQuery: {}, store,
    list: (): Promise<ListResult> => Promise.resolve({ items: items(), resourceVersion: "1" }),
    transform: (raw) => String(raw), keyOf: (item) => item, onChange: () => undefined, logger: pino({ level: "silent" }),
  });
  return { reflector, endWatch: (error: unknown) => { endWatch(error); } };
}

void describe("reflectors sharing one cache", () => {
  void it("a relist of one namespace keeps the other namespace's objects, and still drops its own deleted ones", async () => {
    const clock = new FakeScheduler(new Date(0));
    const store = new Map<string, string>();
    let shop = ["shop/a", "shop/b"];
    const first = namespaceReflector(store, clock, () => shop);
    const second = namespaceReflector(store, clock, () => ["edge/c"]);
    assert.deepEqual(await Promise.all([first.reflector.start(), second.reflector.start()]), [true, true]);
    assert.deepEqual([...store.keys()].sort(), ["edge/c", "shop/a", "shop/b"]);
    // shop/b was deleted while the watch was away; the resourceVersion is too old: 410 Gone, list again.
    shop = ["shop/a"];
    first.endWatch(new ApiException(410, "Gone", {}, {}));
    await clock.settle();
    await clock.advance(0);
    await clock.settle();
    assert.deepEqual([...store.keys()].sort(), ["edge/c", "shop/a"]);
    first.reflector.stop();
    second.reflector.stop();
  });
});
