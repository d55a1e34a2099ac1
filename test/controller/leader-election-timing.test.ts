// The leader elector's timing, on manual time with an in-memory Lease API: renewals
// every retry period, leadership lost when renewing has failed for longer than the
// renew deadline, a follower taking over only when the holder's Lease has expired,
// and a stop that does not wait out a retry period. test/kube/leader-election.test.ts
// runs two replicas on a real API server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiException, type V1Lease } from "@kubernetes/client-node";
import { pino } from "pino";
import { LeaderElector } from "../../src/controller/leader-election.ts";
import { FakeScheduler } from "../support/fake-scheduler.ts";

const NS = "default";
const NAME = "ocsp-stapler";

/** The three Lease calls the elector makes, against one Lease kept in memory, with the API server's optimistic concurrency. */
class FakeLeases {
  lease: V1Lease | undefined;
  /** While set, every call fails as an API server that is down would. */
  down = false;
  private version = 0;

  readNamespacedLease(_request: { name: string; namespace: string }): Promise<V1Lease> {
    if (this.down) return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6443"));
    if (this.lease === undefined) return Promise.reject(new ApiException(404, "not found", {}, {}));
    return Promise.resolve(structuredClone(this.lease));
  }

  createNamespacedLease({ body }: { namespace: string; body: V1Lease }): Promise<V1Lease> {
    if (this.down) return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6443"));
    if (this.lease !== undefined) return Promise.reject(new ApiException(409, "already exists", {}, {}));
    return Promise.resolve(this.store(body));
  }

  replaceNamespacedLease({ body }: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease> {
    if (this.down) return Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:6443"));
    if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) return Promise.reject(new ApiException(409, "conflict", {}, {}));
    return Promise.resolve(this.store(body));
  }

  get holder(): string | undefined {
    return this.lease?.spec?.holderIdentity;
  }

  private store(body: V1Lease): V1Lease {
    const stored = structuredClone(body);
    stored.metadata ??= {};
    stored.metadata.resourceVersion = String(++this.version);
    this.lease = stored;
    return structuredClone(stored);
  }
}

/** An elector with client-go's timings (lease 15 s, renew deadline 10 s, retry 2 s), running; records when it started and stopped leading. */
function runElector(identity: string, leases: FakeLeases, clock: FakeScheduler) {
  const elector = new LeaderElector({ api: leases, namespace: NS, name: NAME, identity, clock, logger: pino({ level: "silent" }) });
  const times: { started?: number; stopped?: number } = {};
  let ended = false;
  void elector.run(() => { times.started = clock.now().getTime(); }, () => { times.stopped = clock.now().getTime(); }).then(() => { ended = true; });
  /** Stops the elector; its run must end without time passing (a stop wakes the wait between attempts). */
  const stop = async (): Promise<void> => {
    elector.stop();
    await clock.settle();
    assert.equal(ended, true, "run ended at once");
  };
  return { times, stop };
}

void describe("the leader elector's timing, on manual time", () => {
  void it("takes a free Lease at once and renews it every retry period", async () => {
    const clock = new FakeScheduler(new Date(0));
    const leases = new FakeLeases();
    const { times, stop } = runElector("a", leases, clock);
    await clock.settle();
    assert.equal(times.started, 0);
    assert.equal(leases.holder, "a");
    for (const at of [2_000, 4_000]) {
      await clock.advance(2_000);
      assert.equal(new Date(String(leases.lease?.spec?.renewTime)).getTime(), at, `renewed at ${String(at)} ms`);
    }
    await stop();
  });

  void it("a leader that cannot renew leads on until the renew deadline has passed, then stops at the next attempt", async () => {
    const clock = new FakeScheduler(new Date(0));
    const leases = new FakeLeases();
    const { times, stop } = runElector("a", leases, clock);
    await clock.settle();
    leases.down = true;
    // Attempts at 2, 4, … 10 s fail; at 10 s exactly 10 s have passed, not more.
    await clock.advance(10_000);
    assert.equal(times.stopped, undefined, "still leading at the deadline itself");
    await clock.advance(2_000);
    assert.equal(times.stopped, 12_000, "stopped at the first attempt past the deadline");
    await stop();
  });

  void it("a follower takes over only once the holder has not renewed for the lease duration it observed", async () => {
    const clock = new FakeScheduler(new Date(0));
    const leases = new FakeLeases();
    await leases.createNamespacedLease({ namespace: NS, body: { metadata: { name: NAME, namespace: NS }, spec: { holderIdentity: "gone", leaseDurationSeconds: 15, renewTime: new Date(0), leaseTransitions: 0 } } });
    const { times, stop } = runElector("b", leases, clock);
    // Observed at 0 s; tried every 2 s; 14 s is within 15 s, 16 s is past it.
    await clock.advance(14_000);
    assert.equal(leases.holder, "gone");
    await clock.advance(2_000);
    assert.equal(times.started, 16_000);
    assert.deepEqual([leases.holder, leases.lease?.spec?.leaseTransitions], ["b", 1]);
    await stop();
  });

  void it("a stop wakes the wait between attempts and releases the Lease, without time passing", async () => {
    const clock = new FakeScheduler(new Date(0));
    const leases = new FakeLeases();
    const { stop } = runElector("a", leases, clock);
    await clock.settle();
    assert.deepEqual(clock.pending, [2_000], "waiting for the next renewal");
    await stop();
    assert.equal(leases.holder, "", "released, so a follower need not wait for it to expire");
    assert.deepEqual(clock.pending, []);
  });
});
