import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { Certificate } from "../ocsp/certificate.ts";
import type { Scheduler, Timer } from "../ocsp/clock.ts";
import { VerificationCache } from "../ocsp/verification-cache.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import { decidePair, type Installed } from "./decide.ts";
import { ReloaderMetrics } from "./reloader-metrics.ts";
import type { ServerTarget, StapleChange } from "./server-target.ts";
import { checkDer, checkStaple, type StapleCheck } from "./staple-check.ts";
import { watchedEntries, type StaplePair } from "./staple-pair.ts";
import { VolumeWatcher } from "./volume-watcher.ts";

export interface ReloaderOptions {
  readonly pairs: readonly StaplePair[];
  readonly target: ServerTarget;
  /** `--issuer` certificates, searched after the chain and `ca.crt`. */
  readonly issuers: readonly Certificate[];
  /** The time staples are judged at, and the timers of polls, debounce, retries and expiry. */
  readonly clock: Scheduler;
  readonly logger: Logger;
  readonly intervalMs: number;
  readonly debounceMs: number;
  /** How soon a failed hand-over (HAProxy not up yet, a failed config test) is retried. */
  readonly retryMs: number;
}

interface PairState {
  /** The staple the server has from us (or a previous run left in the nginx directory). */
  installed?: Uint8Array;
  /** `installed`, as it verified at the last sync: what the gauges report. */
  inUse?: VerifiedResponse | undefined;
  /** The last refusal reported, so one bad file is logged and counted once, not at every poll. */
  reported?: string;
}

/**
 * The sidecar's loop: on a volume event or a poll, gather (read and verify
 * every pair's mounted staple, re-verify the one in place and, where the
 * server can be asked, check it still holds it), decide (pure,
 * `decidePair`), act (one batch to the server). Syncs never overlap: a
 * trigger during a sync makes exactly one more sync afterwards, so a burst of
 * updates costs nginx one reload.
 */
export class Reloader {
  readonly metrics: ReloaderMetrics;
  private readonly options: ReloaderOptions;
  private readonly state = new Map<string, PairState>();
  private readonly watcher: VolumeWatcher;
  /** Each sync re-verifies every mounted and installed staple: an unchanged one is signature-checked once per process. */
  private readonly verified = new VerificationCache();
  private running: Promise<void> | undefined;
  private again = false;
  private retry: Timer | undefined;
  /** A sync when the first staple in use reaches its usable end, so nginx drops it then, not at the next poll. */
  private expiry: Timer | undefined;
  private stopped = false;
  private syncs = 0;
  /** Consecutive syncs with a failed hand-over: the retry delay doubles with each, up to the poll interval. */
  private failedSyncs = 0;

  constructor(options: ReloaderOptions) {
    this.options = options;
    this.metrics = new ReloaderMetrics(options.pairs.map((pair) => pair.name), () => this.inUse(), options.clock);
    for (const pair of options.pairs) {
      const previous = options.target.previouslyInstalled(pair);
      this.state.set(pair.name, previous === undefined ? {} : { installed: previous });
    }
    this.watcher = new VolumeWatcher(options.pairs.flatMap(watchedEntries), { clock: options.clock, intervalMs: options.intervalMs, debounceMs: options.debounceMs, onChange: () => { void this.sync(); } });
  }

  /** True once the first sync has finished: by then a verified staple is in place (a startup probe for nginx to wait on). */
  get ready(): boolean {
    return this.syncs > 0;
  }

  /** Runs the first sync, then follows the volume. */
  async start(): Promise<void> {
    this.watcher.start();
    await this.sync();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher.stop();
    this.retry?.cancel();
    this.expiry?.cancel();
    await this.running;
  }

  /** Requests a sync; resolves when the sync that covers this request has finished. */
  sync(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = this.loop().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.syncOnce();
        this.scheduleExpiry();
      } catch (error) {
        // Everything below reports its own failures; this is a bug's last stop, never a crash.
        this.options.logger.error({ err: error }, "sync failed");
      }
      this.syncs++;
    } while (this.requestedAgain());
  }

  /** A trigger arrived during the sync (a method, so the flag is read after the awaits). */
  private requestedAgain(): boolean {
    return this.again && !this.stopped;
  }

  private async syncOnce(): Promise<void> {
    const { pairs, target, issuers, clock, logger } = this.options;
    const now = clock.now();
    const changes: StapleChange[] = [];
    for (const pair of pairs) {
      const state = this.stateOf(pair);
      const mounted = await checkStaple(pair, issuers, now, this.verified);
      this.reportMounted(pair, state, mounted);
      const installed = await this.confirmed(pair, state, state.installed === undefined ? undefined : { der: state.installed, check: await checkDer(state.installed, pair, issuers, now, this.verified) });
      state.inUse = installed?.check.kind === "verified" ? installed.check.response : undefined;
      const decision = decidePair(mounted, installed, target.canWithdraw);
      if (decision.action === "install") changes.push({ kind: "install", pair, response: decision.response });
      if (decision.action === "withdraw") {
        logger.warn({ name: pair.name, staple: pair.staplePath, code: decision.why }, decision.why === "StapleMissing" ? `staple withdrawn from the volume: removing it from ${target.server}` : `the staple in place no longer verifies: removing it from ${target.server}`);
        changes.push({ kind: "withdraw", pair });
      }
    }
    if (changes.length === 0) {
      // A batch's own reload covers a pending one, so it is settled only when nothing else changes.
      await this.settle();
      logger.debug({ pairs: pairs.length }, "synced: nothing to change");
      return;
    }
    const report = await target.apply(changes);
    const at = clock.now();
    for (const change of report.applied) {
      const state = this.stateOf(change.pair);
      if (change.kind === "withdraw") {
        delete state.installed;
        delete state.inUse;
        logger.info({ name: change.pair.name, staple: change.pair.staplePath, server: target.server }, "staple withdrawn");
        continue;
      }
      state.installed = change.response.der;
      state.inUse = change.response;
      if (report.reload === "not-running") {
        logger.info({ name: change.pair.name, staple: change.pair.staplePath, server: target.server, ...describe(change.response) }, "staple staged: nginx loads it when it starts");
        continue;
      }
      this.metrics.pushed(target.server, change.pair.name, at);
      logger.info({ name: change.pair.name, staple: change.pair.staplePath, server: target.server, ...describe(change.response) }, "staple pushed");
    }
    for (const failure of report.failed) {
      this.metrics.error(failure.reason);
      logger.error({ name: failure.change.pair.name, staple: failure.change.pair.staplePath, server: target.server, code: failure.reason, reason: failure.message }, "could not hand the staple to the server");
    }
    if (report.reload !== undefined || report.failed.some((failure) => failure.reason === "NginxReloadFailed")) {
      this.metrics.reloads.inc({ result: report.reload ?? "failed" });
      if (report.reload === "not-running") logger.info({ server: target.server }, "nginx is not running yet: it loads the staple when it starts");
    }
    this.scheduleRetry(report.failed.length > 0);
  }

  /**
   * The staple in place, unless the server says it no longer holds it (a
   * restarted HAProxy): then the loop forgets it, and decidePair hands the
   * mounted staple over again. A server that cannot be asked changes nothing.
   */
  private async confirmed(pair: StaplePair, state: PairState, installed: Installed | undefined): Promise<Installed | undefined> {
    const { target, logger } = this.options;
    if (installed?.check.kind !== "verified" || target.confirm === undefined) return installed;
    const held = await target.confirm(pair, installed.check.response);
    if (held.kind === "held") return installed;
    if (held.kind === "unknown") {
      logger.warn({ name: pair.name, server: target.server, reason: held.detail }, "cannot ask the server which staple it holds: trying again at the next sync");
      return installed;
    }
    logger.warn({ name: pair.name, staple: pair.staplePath, server: target.server, reason: held.detail }, "the server no longer holds the staple we handed it (restarted?): handing it over again");
    delete state.installed;
    delete state.inUse;
    return undefined;
  }

  private scheduleExpiry(): void {
    this.expiry?.cancel();
    const ends = [...this.inUse()].map(({ response }) => response.usableUntil.getTime());
    if (ends.length === 0 || this.stopped) return;
    const delay = Math.max(0, Math.min(...ends) - this.options.clock.now().getTime()) + 1_000;
    this.expiry = this.options.clock.setTimer(delay, () => { void this.sync(); });
  }

  /** A reload an earlier sync could not make (nginx was not running yet) is made once nginx is there. */
  private async settle(): Promise<void> {
    const settled = await this.options.target.settle?.();
    if (settled === undefined) return;
    this.metrics.reloads.inc({ result: settled.ok ? "reloaded" : "failed" });
    if (settled.ok) this.options.logger.info({ server: this.options.target.server, detail: settled.detail }, "nginx reloaded: it now has the staples staged before it ran");
    else {
      this.metrics.error("NginxReloadFailed");
      this.options.logger.error({ server: this.options.target.server, code: "NginxReloadFailed", reason: settled.detail }, "could not reload nginx");
    }
  }

  /** A failed hand-over (HAProxy not up yet, a failed config test) is retried soon, then less and less often. */
  private scheduleRetry(failed: boolean): void {
    this.retry?.cancel();
    if (!failed) {
      this.failedSyncs = 0;
      return;
    }
    this.failedSyncs++;
    if (this.stopped) return;
    const delay = Math.min(this.options.retryMs * 2 ** Math.min(this.failedSyncs - 1, 16), this.options.intervalMs);
    this.retry = this.options.clock.setTimer(delay, () => { void this.sync(); });
  }

  /** A refused mounted staple is logged with its code and counted, once per distinct file and reason. */
  private reportMounted(pair: StaplePair, state: PairState, mounted: StapleCheck): void {
    if (mounted.kind !== "rejected") {
      if (state.reported !== undefined && mounted.kind === "missing") this.options.logger.info({ name: pair.name, staple: pair.staplePath }, "no staple mounted");
      delete state.reported;
      return;
    }
    const key = `${mounted.reason}:${mounted.der === undefined ? "" : createHash("sha256").update(mounted.der).digest("hex")}`;
    if (state.reported === key) return;
    state.reported = key;
    this.metrics.error(mounted.reason);
    this.options.logger.warn({ name: pair.name, staple: pair.staplePath, cert: pair.certPath, code: mounted.reason, reason: mounted.message }, "staple refused: not pushed");
  }

  private stateOf(pair: StaplePair): PairState {
    let state = this.state.get(pair.name);
    if (state === undefined) this.state.set(pair.name, (state = {}));
    return state;
  }

  /** The staples the server has from us, verified now (for the scrape-time gauges). */
  private *inUse(): Iterable<{ name: string; response: VerifiedResponse }> {
    for (const pair of this.options.pairs) {
      const response = this.state.get(pair.name)?.inUse;
      if (response !== undefined) yield { name: pair.name, response };
    }
  }
}

function describe(response: VerifiedResponse): Record<string, string> {
  return {
    serial: response.serial,
    certStatus: response.certStatus.kind,
    thisUpdate: response.thisUpdate.toISOString(),
    ...(response.nextUpdate === undefined ? {} : { nextUpdate: response.nextUpdate.toISOString() }),
    usableUntil: response.usableUntil.toISOString(),
  };
}
