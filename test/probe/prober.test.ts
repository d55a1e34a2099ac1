// The prober's schedule on manual time: a probe at once for a new endpoint,
// then one per interval after each ends; a deadline on the injected scheduler
// ends a probe that never answers (Unreachable) while the other endpoints
// keep their schedule; changes reported only when the verdict says something
// new; forgetting an endpoint abandons its probe; stop leaves no timer.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import type { Judgement } from "../../src/probe/judge-endpoint.ts";
import { Prober, type EndpointResult, type ProbeRun, type ProbeTarget } from "../../src/probe/prober.ts";
import { FakeScheduler } from "../support/fake-scheduler.ts";

const served = (message = "serves the stored staple"): Judgement => ({ state: "Served", reachable: true, message, stapleServed: true });
const target = (address: string, overrides: Partial<ProbeTarget> = {}): ProbeTarget => ({
  id: `web/cfg|${address}|`, config: "web/cfg", endpoint: { address }, intervalMs: 1_000, timeoutMs: 10_000, propagationGraceMs: 0, ...overrides,
});

function rig(run: ProbeRun, concurrency?: number) {
  const scheduler = new FakeScheduler();
  const changes: { result: EndpointResult; previous: EndpointResult }[] = [];
  const prober = new Prober({ scheduler, run, logger: pino({ level: "silent" }), onChange: (result, previous) => { changes.push({ result, previous }); }, ...(concurrency === undefined ? {} : { concurrency }) });
  return { scheduler, prober, changes };
}

void describe("Prober", () => {
  void it("probes a new endpoint at once, then once per interval after each probe, never sooner", async () => {
    const probed: number[] = [];
    const { scheduler, prober } = rig(() => { probed.push(scheduler.now().getTime()); return Promise.resolve({ judgement: served() }); });
    const start = scheduler.now().getTime();
    prober.sync([target("a:443")]);
    await scheduler.advance(0);
    assert.deepEqual(probed, [start]);
    await scheduler.advance(999);
    assert.equal(probed.length, 1, "not before the interval");
    await scheduler.advance(1);
    await scheduler.advance(2_000);
    assert.deepEqual(probed.map((at) => at - start), [0, 1_000, 2_000, 3_000]);
    prober.stop();
  });

  void it("an endpoint that never answers: Unreachable at its deadline, the probe aborted; the other endpoint keeps its schedule meanwhile", async () => {
    const signals: AbortSignal[] = [];
    const live: number[] = [];
    const { scheduler, prober, changes } = rig((probeTarget, signal) => {
      if (probeTarget.endpoint.address === "dead:443") {
        signals.push(signal);
        return new Promise(() => undefined);
      }
      live.push(scheduler.now().getTime());
      return Promise.resolve({ judgement: served() });
    });
    const start = scheduler.now().getTime();
    prober.sync([target("dead:443", { timeoutMs: 5_000 }), target("live:443")]);
    await scheduler.advance(4_999);
    assert.deepEqual(live.map((at) => at - start), [0, 1_000, 2_000, 3_000, 4_000], "the live endpoint is probed every second while the dead one hangs");
    assert.equal(prober.resultsOf("web/cfg").find((result) => result.target.endpoint.address === "dead:443")?.judgement.state, "Pending");
    await scheduler.advance(1);
    const dead = prober.resultsOf("web/cfg").find((result) => result.target.endpoint.address === "dead:443");
    assert.equal(dead?.judgement.state, "Unreachable");
    assert.equal(dead.judgement.message, "no TLS handshake with dead:443 within 5s");
    assert.equal(dead.sinceMs, start + 5_000);
    assert.equal(signals[0]?.aborted, true, "the hanging probe was told to give up (its socket goes)");
    assert.ok(changes.some((change) => change.result.target.endpoint.address === "dead:443" && change.previous.judgement.state === "Pending"));
    prober.stop();
  });

  void it("with every slot taken by endpoints that hang, the next waits at most one deadline", async () => {
    const probedAt = new Map<string, number>();
    const { scheduler, prober } = rig((probeTarget) => {
      probedAt.set(probeTarget.endpoint.address, scheduler.now().getTime());
      return probeTarget.endpoint.address.startsWith("dead") ? new Promise(() => undefined) : Promise.resolve({ judgement: served() });
    }, 1);
    const start = scheduler.now().getTime();
    prober.sync([target("dead:443", { timeoutMs: 3_000 }), target("live:443")]);
    await scheduler.advance(2_999);
    assert.equal(probedAt.has("live:443"), false);
    await scheduler.advance(1);
    assert.equal(probedAt.get("live:443"), start + 3_000);
    prober.stop();
  });

  void it("reports a change only when the verdict says something new; `since` is when the state began", async () => {
    let judgement: Judgement = served();
    const { scheduler, prober, changes } = rig(() => Promise.resolve({ judgement, secret: "shop-tls" }));
    const start = scheduler.now().getTime();
    prober.sync([target("a:443")]);
    await scheduler.advance(2_000);
    assert.equal(changes.length, 1, "Pending → Served once; the same verdict twice more says nothing");
    judgement = served("serves an older staple, within propagationGrace");
    await scheduler.advance(1_000);
    assert.equal(changes.length, 2, "a new message is news");
    assert.equal(changes[1]?.result.sinceMs, start, "still Served since the first probe");
    judgement = { state: "NoStaple", reachable: true, message: "no OCSP staple", stapleServed: false };
    await scheduler.advance(1_000);
    assert.equal(changes[2]?.result.judgement.state, "NoStaple");
    assert.equal(changes[2].result.sinceMs, start + 4_000);
    assert.equal(changes[2].result.secret, "shop-tls");
    prober.stop();
  });

  void it("an endpoint dropped from the spec is forgotten, its probe in flight abandoned; stop leaves no timer", async () => {
    const signals: AbortSignal[] = [];
    const { scheduler, prober, changes } = rig((_probeTarget, signal) => { signals.push(signal); return new Promise(() => undefined); });
    prober.sync([target("a:443"), target("b:443")]);
    await scheduler.advance(0);
    prober.sync([target("b:443")]);
    assert.equal(signals[0]?.aborted, true);
    assert.deepEqual(prober.resultsOf("web/cfg").map((result) => result.target.endpoint.address), ["b:443"]);
    await scheduler.advance(20_000);
    assert.ok(changes.every((change) => change.result.target.endpoint.address === "b:443"), "nothing recorded for the forgotten endpoint");
    prober.stop();
    assert.deepEqual(scheduler.pending, []);
    assert.equal(signals.at(-1)?.aborted, true);
  });

  void it("a changed spec (interval) probes again at once and keeps the new interval", async () => {
    const probed: number[] = [];
    const { scheduler, prober } = rig(() => { probed.push(scheduler.now().getTime()); return Promise.resolve({ judgement: served() }); });
    const start = scheduler.now().getTime();
    prober.sync([target("a:443", { intervalMs: 60_000 })]);
    await scheduler.advance(10_000);
    prober.sync([target("a:443", { intervalMs: 5_000 })]);
    await scheduler.advance(5_000);
    assert.deepEqual(probed.map((at) => at - start), [0, 10_000, 15_000]);
    prober.stop();
  });
});
