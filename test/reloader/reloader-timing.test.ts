// The reloader's timers, on manual time: the poll every --interval, the retry of a
// failed hand-over (5 s, doubling), and the sync at a staple's usable end that takes
// it away. The staple is a real responder's; the server is a fake that records
// what it was asked and when. test/e2e/reloader-*.test.ts run the real servers.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { Reloader } from "../../src/reloader/reloader.ts";
import { checkStaple } from "../../src/reloader/staple-check.ts";
import type { ApplyReport, ServerTarget, StapleChange } from "../../src/reloader/server-target.ts";
import type { StaplePair } from "../../src/reloader/staple-pair.ts";
import { FakeScheduler } from "../support/fake-scheduler.ts";
import { ReloaderFixture } from "../support/reloader-fixture.ts";
import { removeTempDir } from "../support/tmp.ts";

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/** A server that takes every change, except that the first `refusals` batches fail; it notes when each sync reached it. */
class RecordingTarget implements ServerTarget {
  readonly server = "haproxy";
  readonly canWithdraw = true;
  /** When each sync handed it changes, and which. */
  readonly batches: { at: number; kinds: StapleChange["kind"][] }[] = [];
  /** When each sync found nothing to change. */
  readonly quiet: number[] = [];
  private refusals: number;
  private readonly clock: FakeScheduler;
  /** The instant it was made, before the reloader started: times are noted from there. */
  private readonly origin: number;

  constructor(clock: FakeScheduler, refusals = 0) {
    this.clock = clock;
    this.refusals = refusals;
    this.origin = clock.now().getTime();
  }

  previouslyInstalled(): undefined {
    return undefined;
  }

  apply(changes: readonly StapleChange[]): Promise<ApplyReport> {
    this.batches.push({ at: this.elapsed(), kinds: changes.map((change) => change.kind) });
    if (this.refusals-- > 0) return Promise.resolve({ applied: [], failed: changes.map((change) => ({ change, reason: "HaproxyPushFailed", message: "the runtime API socket is not there yet" })) });
    return Promise.resolve({ applied: changes, failed: [] });
  }

  settle(): Promise<undefined> {
    this.quiet.push(this.elapsed());
    return Promise.resolve(undefined);
  }

  private elapsed(): number {
    return this.clock.now().getTime() - this.origin;
  }
}

void describe("the reloader's timing, on manual time", () => {
  let fixture: ReloaderFixture;
  let dir: string;
  let pair: StaplePair;
  let usableUntil: number;
  const running: Reloader[] = [];

  before(async () => {
    fixture = await ReloaderFixture.create("reloader-timing");
    ({ dir, pair } = await fixture.mountedPair("reloader-timing"));
    const mounted = await checkStaple(pair, [], new Date());
    assert.ok(mounted.kind === "verified", mounted.kind);
    usableUntil = mounted.response.usableUntil.getTime();
  });
  after(async () => {
    for (const reloader of running) await reloader.stop();
    await fixture.cleanup();
    await removeTempDir(dir);
  });

  /** A reloader on `clock` (which starts at the real now: the staple is fresh then), started. */
  const start = async (clock: FakeScheduler, target: RecordingTarget, intervalMs: number): Promise<Reloader> => {
    const reloader = new Reloader({ pairs: [pair], target, issuers: [], clock, logger: pino({ level: "silent" }), intervalMs, debounceMs: 300, retryMs: 5_000 });
    running.push(reloader);
    await reloader.start();
    return reloader;
  };

  void it("syncs again every interval, whatever the volume events say", async () => {
    const clock = new FakeScheduler(new Date());
    const target = new RecordingTarget(clock);
    await start(clock, target, MINUTE_MS);
    await clock.advance(MINUTE_MS - 1);
    assert.deepEqual([target.batches.map((batch) => batch.at), target.quiet], [[0], []], "only the first sync, which installed the staple");
    await clock.advance(1);
    await clock.advance(MINUTE_MS);
    assert.deepEqual(target.quiet, [MINUTE_MS, 2 * MINUTE_MS]);
  });

  void it("retries a failed hand-over after 5 s, then 10 s, then 20 s, and stops retrying once it went through", async () => {
    const clock = new FakeScheduler(new Date());
    const target = new RecordingTarget(clock, 3);
    await start(clock, target, 10 * MINUTE_MS);
    await clock.advance(MINUTE_MS);
    assert.deepEqual(target.batches.map((batch) => batch.at), [0, 5_000, 15_000, 35_000]);
    assert.deepEqual(target.quiet, [], "no sync after the one that went through: no retry left armed");
  });

  void it("syncs one second after the staple in use reaches its usable end, and takes it away", async () => {
    const clock = new FakeScheduler(new Date());
    const target = new RecordingTarget(clock);
    // The poll is set beyond the staple's end, so only the expiry timer can explain a sync before it.
    const startedAt = clock.now().getTime();
    await start(clock, target, 30 * DAY_MS);
    const end = usableUntil - startedAt;
    await clock.advance(end + 1_000);
    assert.deepEqual(target.batches, [{ at: 0, kinds: ["install"] }, { at: end + 1_000, kinds: ["withdraw"] }]);
  });
});
