import type { Logger } from "pino";
import type { Scheduler, Timer } from "../ocsp/clock.ts";
import { messageOf } from "../ocsp/errors.ts";
import type { ProbeEndpoint } from "../kube/staple-config.ts";
import { Slots } from "../controller/slots.ts";
import type { EndpointState } from "./endpoint-state.ts";
import type { Judgement } from "./judge-endpoint.ts";

/** One endpoint of one StapleConfig, with that config's probe settings. */
export interface ProbeTarget {
  /** The config's key, the address and the SNI name: unique (the CRD refuses a pair twice). */
  readonly id: string;
  /** namespace/name of the StapleConfig. */
  readonly config: string;
  readonly endpoint: ProbeEndpoint;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly propagationGraceMs: number;
}

/** The last verdict on an endpoint: what the status lists and the metrics show. */
export interface EndpointResult {
  readonly target: ProbeTarget;
  readonly judgement: Judgement;
  /** The Secret the endpoint was compared with. */
  readonly secret?: string;
  /** When the endpoint entered its state (the status entry's `since`). */
  readonly sinceMs: number;
}

/** One probe, start to verdict; `signal` aborts it (its deadline, or the prober's stop). */
export type ProbeRun = (target: ProbeTarget, signal: AbortSignal) => Promise<{ readonly judgement: Judgement; readonly secret?: string }>;

export interface ProberDependencies {
  /** The time and the timers of every probe's schedule and deadline. */
  readonly scheduler: Scheduler;
  readonly run: ProbeRun;
  /** Probes in flight at once, over every endpoint (default 8). */
  readonly concurrency?: number;
  /** An endpoint's verdict says something new (state, message, served staple, Secret). */
  readonly onChange: (result: EndpointResult, previous: EndpointResult) => void;
  /** Every finished probe, for the probe counter. */
  readonly onProbed?: (state: EndpointState) => void;
  readonly logger: Logger;
}

interface Entry {
  target: ProbeTarget;
  result: EndpointResult;
  timer?: Timer | undefined;
  /** Aborts the probe in flight. */
  abort?: AbortController | undefined;
  /** The probe in flight's deadline. */
  deadline?: Timer | undefined;
}

const DEFAULT_CONCURRENCY = 8;

/**
 * Probes every endpoint on its own schedule, beside the controller's work
 * queue and never in it: a probe holds one of its own few slots, for at most
 * its timeout (a deadline on the injected scheduler, whatever the socket
 * does), so an endpoint that never answers costs one slot for that long and
 * delays neither the stapling nor, beyond the slots, other endpoints. The
 * next probe of an endpoint is armed when its last one ended: one in flight
 * per endpoint, at most one per interval.
 */
export class Prober {
  private readonly entries = new Map<string, Entry>();
  private readonly slots: Slots;
  private readonly deps: ProberDependencies;
  private stopped = false;

  constructor(deps: ProberDependencies) {
    this.deps = deps;
    this.slots = new Slots(deps.concurrency ?? DEFAULT_CONCURRENCY);
  }

  /**
   * The endpoints to probe now (every config's spec): new ones are probed at
   * once, changed ones again at once, gone ones forgotten (a probe in flight
   * is abandoned).
   */
  sync(targets: Iterable<ProbeTarget>): void {
    if (this.stopped) return;
    const wanted = new Map<string, ProbeTarget>();
    for (const target of targets) wanted.set(target.id, target);
    for (const [id, entry] of this.entries) if (!wanted.has(id)) this.forget(id, entry);
    for (const [id, target] of wanted) {
      const entry = this.entries.get(id);
      if (entry === undefined) {
        const fresh: Entry = { target, result: pending(target, this.deps.scheduler.now().getTime()) };
        this.entries.set(id, fresh);
        this.arm(fresh, 0);
      } else if (!sameTarget(entry.target, target)) {
        entry.target = target;
        entry.result = { ...entry.result, target };
        if (entry.abort === undefined) this.arm(entry, 0);
      }
    }
  }

  /** The verdicts of one config's endpoints, in spec order not guaranteed (the status sorts). */
  resultsOf(config: string): EndpointResult[] {
    return [...this.entries.values()].filter((entry) => entry.target.config === config).map((entry) => entry.result);
  }

  /** Every endpoint's verdict (the metrics). */
  *results(): Iterable<EndpointResult> {
    for (const entry of this.entries.values()) yield entry.result;
  }

  /** Cancels every timer and abandons the probes in flight. */
  stop(): void {
    this.stopped = true;
    for (const [id, entry] of this.entries) this.forget(id, entry);
  }

  private forget(id: string, entry: Entry): void {
    entry.timer?.cancel();
    entry.deadline?.cancel();
    entry.abort?.abort();
    this.entries.delete(id);
  }

  private arm(entry: Entry, delayMs: number): void {
    entry.timer?.cancel();
    // unref: a probe months away must not keep a stopping process alive.
    entry.timer = this.deps.scheduler.setTimer(delayMs, () => { void this.probe(entry); }, { unref: true });
  }

  private current(entry: Entry): boolean {
    return !this.stopped && this.entries.get(entry.target.id) === entry;
  }

  private async probe(entry: Entry): Promise<void> {
    entry.timer = undefined;
    await this.slots.acquire();
    if (!this.current(entry)) {
      this.slots.release();
      return;
    }
    const { target } = entry;
    const abort = new AbortController();
    entry.abort = abort;
    const deadline = this.deps.scheduler.setTimer(target.timeoutMs, () => { abort.abort(); });
    entry.deadline = deadline;
    let verdict: { judgement: Judgement; secret?: string };
    try {
      verdict = await Promise.race([this.deps.run(target, abort.signal), timedOut(abort.signal, target)]);
    } catch (error) {
      // observeEndpoint never throws: this is a bug, reported as what the probe could not tell.
      this.deps.logger.error({ endpoint: target.endpoint.address, config: target.config, err: messageOf(error) }, "probe failed");
      verdict = { judgement: { state: "Unreachable", reachable: false, message: `the probe failed: ${messageOf(error)}` } };
    } finally {
      deadline.cancel();
      entry.abort = undefined;
      entry.deadline = undefined;
      this.slots.release();
    }
    if (!this.current(entry)) return;
    this.deps.onProbed?.(verdict.judgement.state);
    this.record(entry, verdict);
    this.arm(entry, entry.target.intervalMs);
  }

  private record(entry: Entry, verdict: { judgement: Judgement; secret?: string }): void {
    const previous = entry.result;
    const changedState = previous.judgement.state !== verdict.judgement.state;
    entry.result = {
      target: entry.target, judgement: verdict.judgement,
      ...(verdict.secret === undefined ? {} : { secret: verdict.secret }),
      sinceMs: changedState ? this.deps.scheduler.now().getTime() : previous.sinceMs,
    };
    if (changedState || saysMore(previous, entry.result)) this.deps.onChange(entry.result, previous);
  }
}

/** Before the first probe. */
function pending(target: ProbeTarget, nowMs: number): EndpointResult {
  return { target, sinceMs: nowMs, judgement: { state: "Pending", reachable: false, message: "not probed yet" } };
}

/** Resolves as Unreachable once the deadline aborts the probe. */
function timedOut(signal: AbortSignal, target: ProbeTarget): Promise<{ judgement: Judgement }> {
  return new Promise((resolve) => {
    signal.addEventListener("abort", () => {
      resolve({ judgement: { state: "Unreachable", reachable: false, message: `no TLS handshake with ${target.endpoint.address} within ${String(target.timeoutMs / 1000)}s` } });
    }, { once: true });
  });
}

function sameTarget(a: ProbeTarget, b: ProbeTarget): boolean {
  return a.intervalMs === b.intervalMs && a.timeoutMs === b.timeoutMs && a.propagationGraceMs === b.propagationGraceMs && a.endpoint.secret === b.endpoint.secret;
}

/** What the status shows changed (the ages the metrics show change at every probe and are not compared). */
function saysMore(previous: EndpointResult, next: EndpointResult): boolean {
  return previous.judgement.message !== next.judgement.message || previous.judgement.servedThisUpdateMs !== next.judgement.servedThisUpdateMs || previous.secret !== next.secret;
}
