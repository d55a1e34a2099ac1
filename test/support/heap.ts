/**
 * The live heap of this process after a full garbage collection: the measure
 * the fault suites use to say "memory is bounded" and "memory returns to its
 * level" for a controller running in-process. heapUsed right after a forced,
 * repeated GC is what is still reachable; RSS is not, since V8 and glibc keep
 * freed pages. Tests need no `--expose-gc`: the flag is set at run time, on
 * the first call (no import-time side effects).
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { setImmediate as nextTurn } from "node:timers/promises";

let collect: (() => void) | undefined;

/** Bytes of heap still reachable after collecting everything that is not. */
export async function heapAfterGc(): Promise<number> {
  if (collect === undefined) {
    setFlagsFromString("--expose_gc");
    collect = runInNewContext("gc") as () => void;
  }
  // Until the heap stops shrinking: finalizers, weak callbacks and V8's flushing of bytecode
  // that has not run for a few collections free more on later passes.
  let heap = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < 12; pass++) {
    collect();
    await nextTurn();
    const now = process.memoryUsage().heapUsed;
    if (pass >= 2 && heap - now < 64 * 1024) return now;
    heap = now;
  }
  return heap;
}

export const mib = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MiB`;

/** Runs `task` over `items` with at most `limit` in flight (creating fleets of Secrets). */
export async function inParallel<T>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    for (let index = next++; index < items.length; index = next++) {
      await task(items[index] as T, index);
    }
  }));
}
