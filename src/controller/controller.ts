import { CoordinationV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, Watch, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { fetchCaIssuers } from "../ocsp/ca-issuers.ts";
import type { Scheduler } from "../ocsp/clock.ts";
import type { HttpTransport } from "../ocsp/http-transport.ts";
import { OcspClient } from "../ocsp/ocsp-client.ts";
import { VerificationCache } from "../ocsp/verification-cache.ts";
import type { Random } from "../staple/refresh-policy.ts";
import { mustStapleUnstapled } from "../staple/plan.ts";
import { CompanionCache } from "../kube/companion-cache.ts";
import { toCompanionSnapshot, trimCompanion, type CompanionSnapshot } from "../kube/companion-snapshot.ts";
import { describeApiError, retryAfterMs } from "../kube/api-error.ts";
import { EventRecorder } from "../kube/event-recorder.ts";
import { FIELD_MANAGER, LABEL } from "../kube/metadata-keys.ts";
import { Reflector, type ListResult } from "../kube/reflector.ts";
import { STAPLE_CONFIG, configKey, toStapleConfig, type StapleConfig } from "../kube/staple-config.ts";
import { TLS_SECRET_TYPE, secretKey, toTlsSecret, trimTlsSecret, type TlsSecret } from "../kube/tls-secret.ts";
import { listPages } from "../kube/paged-list.ts";
import { computeStatus, statusChanged } from "./config-status.ts";
import { SecretReconciler } from "./reconciler.ts";
import type { SecretState } from "../staple/secret-state.ts";
import { SelectionIndex, selectionChanged } from "./selection-index.ts";
import { LeaderElector } from "./leader-election.ts";
import { DEFAULT_FETCHER_LIMITS, StapleFetcher, type FetcherLimits } from "./staple-fetcher.ts";
import { EndpointProbes, type DiscoveryCaches } from "./endpoint-probes.ts";
import { apiGroupServed } from "../kube/api-group-served.ts";
import { gatewaySource, ingressSource, serviceSource, type DiscoverySource } from "../kube/discovery-sources.ts";
import { GATEWAY, type GatewaySummary } from "../kube/gateway-summary.ts";
import type { IngressSummary } from "../kube/ingress-summary.ts";
import type { ServiceSummary } from "../kube/service-summary.ts";
import { Metrics, type StapleSample } from "../observe/metrics.ts";
import { Slots } from "./slots.ts";
import { ErrorBackoff } from "./error-backoff.ts";
import { secretItem, statusItem, workItemId, type WorkItem } from "./work-item.ts";
import { WorkQueue } from "./work-queue.ts";

export interface ControllerOptions {
  readonly kubeConfig: KubeConfig;
  /** Watch only these namespaces; empty watches all. */
  readonly namespaces: readonly string[];
  readonly transport: HttpTransport;
  /** The time and the timers of everything the controller schedules (refreshes, retries, status batches, leases, watch backoff). */
  readonly clock: Scheduler;
  readonly random: Random;
  readonly logger: Logger;
  /** Reconciles working at once (parsing, verifying, deciding); one waiting on a responder or a write does not count. */
  readonly workers?: number;
  /** API writes (companions, InPlace keys, deletions) in flight at once, from all reconciles (default 8). */
  readonly writers?: number;
  /** Per-responder-host limits on OCSP fetches (default 4 in flight, 20 a second). */
  readonly fetchLimits?: FetcherLimits;
  /** Work only while holding this Lease (DESIGN.md `--leader-elect`); without it, always work. */
  readonly leaderElection?: { readonly namespace: string; readonly name: string; readonly identity: string; readonly leaseDurationMs?: number; readonly renewDeadlineMs?: number; readonly retryPeriodMs?: number };
  /** Called if this replica loses the Lease after leading: the host should exit so it restarts clean. */
  readonly onLostLeadership?: () => void;
  /** The API server answered 429/503 with Retry-After: every request of this process should wait that long. */
  readonly onRetryAfter?: (ms: number) => void;
  /**
   * Caches that could not sync, or could not list or watch, for this long make
   * `unhealthy()` say so (default 5 minutes), so a liveness probe restarts a
   * process that is stuck (stale credentials, a dead connection pool) rather
   * than leaving it half alive.
   */
  readonly stuckAfterMs?: number;
  /**
   * `--discover-endpoints`: cache Ingresses, Gateways (where the Gateway API
   * is installed) and Services, for StapleConfigs with spec.probe.discover.
   * Needs the RBAC the chart's probe.discover grants.
   */
  readonly discoverEndpoints?: boolean;
}

const DEFAULT_STUCK_AFTER_MS = 5 * 60_000;
/** Reconciles started between two turns of the event loop (sockets, timers) while the queue is full. */
const DISPATCH_BATCH = 16;
/** Writes in flight: what a client-go controller's default QPS/burst lets through, and the bench's floor client uses. */
const DEFAULT_WRITERS = 8;

/**
 * Status changes coming from Secrets are gathered this long before the
 * config's status is written: under churn (Secrets created, renewed and
 * deleted at 50/s) one write a second per config, not one per Secret.
 */
const STATUS_BATCH_MS = 1_000;

/**
 * The operator: reflectors keep caches of TLS Secrets (field selector on
 * type), companion Secrets (our label) and StapleConfigs; every change maps
 * to items on one queue (a Secret to reconcile, or a config's status to
 * write); workers take items and run the reconciler or the status writer.
 * Nothing acts on an event's snapshot: workers always read the caches when
 * they run.
 */
export class Controller {
  private readonly queue: WorkQueue<WorkItem>;
  /** Per-item backoff for work that threw (an API error), reset when the item succeeds. */
  private readonly errorBackoff: ErrorBackoff;
  private readonly reflectors: { readonly name: string; readonly reflector: Pick<Reflector<unknown>, "start" | "stop" | "failingSince"> }[] = [];
  private readonly secrets = new Map<string, TlsSecret>();
  /** Indexed by source Secret (a reconcile finds its Secret's companions without scanning them all), and knows the echoes of our own writes. */
  private readonly companions = new CompanionCache();
  private readonly configs = new Map<string, StapleConfig>();
  private readonly selection = new SelectionIndex();
  /**
   * Secrets not yet reconciled since this replica started working. A
   * status computed while some of its Secrets are in here would count them
   * as unstapled: after a restart every config would flap to Ready=False
   * and back, two writes for nothing.
   */
  private readonly unexamined = new Set<string>();
  private readonly reconciler: SecretReconciler;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly options: ControllerOptions;
  /** Prometheus metrics, read at scrape time from this controller's caches. */
  readonly metrics: Metrics;
  private readonly slots: Slots;
  private readonly writers: Slots;
  private readonly events: EventRecorder;
  private readonly fetcher: StapleFetcher;
  /** spec.probe: the served-staple prober, beside the work queue (never in it). */
  private readonly probes: EndpointProbes;
  /** What endpoint discovery reads; undefined without `discoverEndpoints`. */
  private readonly discovery: { ingresses: Map<string, IngressSummary>; gateways: Map<string, GatewaySummary>; services: Map<string, ServiceSummary> } | undefined;
  private dispatching: Promise<void> | undefined;
  private isSynced = false;
  private isLeading = false;
  private elector: LeaderElector | undefined;
  private election: Promise<void> | undefined;
  private startedAt = 0;
  /** Set by `stop`: a start still listing must not go on to work or to stand for the Lease. */
  private stopping = false;
  /** Set when a part of the controller died in a way it cannot recover from (a bug): /healthz then fails. */
  private fatal: string | undefined;

  constructor(options: ControllerOptions) {
    this.options = options;
    this.queue = new WorkQueue(options.clock, workItemId);
    this.errorBackoff = new ErrorBackoff(options.random);
    this.slots = new Slots(options.workers ?? 4);
    this.writers = new Slots(options.writers ?? DEFAULT_WRITERS);
    this.metrics = new Metrics({ queueDepth: () => this.queue.depth, staples: () => this.staples(), endpoints: () => this.probes.samples(options.clock.now().getTime()) });
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.custom = options.kubeConfig.makeApiClient(CustomObjectsApi);
    const verificationCache = new VerificationCache();
    this.events = new EventRecorder(this.core, options.clock, options.logger, () => { this.metrics.apiWrites.inc({ kind: "event" }); });
    this.fetcher = new StapleFetcher(new OcspClient({ transport: options.transport, clock: options.clock, cache: verificationCache }), options.fetchLimits ?? DEFAULT_FETCHER_LIMITS, (host, result, seconds) => {
      this.metrics.fetches.inc({ responder: host, result });
      this.metrics.fetchSeconds.observe({ responder: host }, seconds);
    });
    this.reconciler = new SecretReconciler({
      secrets: this.secrets, companions: this.companions,
      ownerOf: (key) => {
        const owner = this.selection.ownerOf(key);
        return owner === undefined ? undefined : this.configs.get(owner);
      },
      fetcher: this.fetcher,
      api: this.core, clock: options.clock, random: options.random, logger: options.logger,
      downloadIssuer: (url) => fetchCaIssuers(options.transport, url),
      verificationCache,
      events: this.events,
      onWrite: (kind) => { this.metrics.apiWrites.inc({ kind }); },
      whileWaiting: (work) => this.slots.whileWaiting(work),
      whileWriting: (write) => this.slots.whileWaiting(this.writers.run(write)),
    });
    this.discovery = options.discoverEndpoints === true ? { ingresses: new Map(), gateways: new Map(), services: new Map() } : undefined;
    const discovery: DiscoveryCaches | undefined = this.discovery;
    this.probes = new EndpointProbes({
      ...(discovery === undefined ? {} : { discovery }),
      configs: this.configs, secrets: this.secrets, states: this.reconciler.states,
      selectedBy: (config) => this.selection.selectedBy(config),
      events: this.events, scheduler: options.clock, logger: options.logger, cache: verificationCache,
      onStatusDue: (config) => { this.queue.addAfter(statusItem(config), STATUS_BATCH_MS); },
      onProbed: (state) => { this.metrics.probes.inc({ result: state }); },
    });
  }

  /** True once every cache has listed: what /readyz reports. */
  get synced(): boolean {
    return this.isSynced;
  }

  get queueDepth(): number {
    return this.queue.depth;
  }

  /** True while this replica works: always without leader election, while holding the Lease with it. */
  get leading(): boolean {
    return this.isLeading;
  }

  /**
   * Resolves once every item queued so far has been processed and none is
   * running, the status batches gathered meanwhile (STATUS_BATCH_MS) have
   * run, and the Events recorded meanwhile are written (refreshes and
   * retries set for later do not count). A test awaits it before asserting
   * that something did not happen ("a restart rewrites nothing"), so it can
   * never pass before the controller has looked at everything. Meaningful
   * while working: a standby replica's queue only fills.
   */
  async whenIdle(): Promise<void> {
    await this.queue.whenIdle(STATUS_BATCH_MS);
    await this.events.whenWritten();
  }

  /** The per-Secret states, for tests and status. */
  get secretStates(): ReadonlyMap<string, SecretState> {
    return this.reconciler.states;
  }

  /**
   * Lists every cache (retrying until the API server answers), then starts
   * working, or standing by for the Lease. Resolves once synced, or as soon as
   * `stop` is called before that.
   */
  async start(): Promise<void> {
    this.startedAt = this.options.clock.now().getTime();
    const watch = new Watch(this.options.kubeConfig);
    const scopes = this.options.namespaces.length === 0 ? [undefined] : this.options.namespaces;
    for (const namespace of scopes) {
      this.reflectors.push(this.secretReflector(watch, namespace), this.companionReflector(watch, namespace), this.configReflector(watch, namespace));
    }
    if (this.discovery !== undefined) await this.discoveryReflectors(watch, scopes, this.discovery);
    // Stopped while asking which APIs are served: the reflectors made since were never started, nothing to stop.
    if (this.isStopping()) return;
    const synced = await Promise.all(this.reflectors.map(({ reflector }) => reflector.start()));
    if (!synced.every(Boolean) || this.isStopping()) return;
    this.isSynced = true;
    this.selection.rebuild(this.secrets, this.configs);
    this.options.logger.info({ secrets: this.secrets.size, configs: this.configs.size, companions: this.companions.size }, "caches synced");
    const election = this.options.leaderElection;
    if (election === undefined) {
      this.startWorking();
      return;
    }
    this.elector = new LeaderElector({
      ...election, api: this.options.kubeConfig.makeApiClient(CoordinationV1Api), clock: this.options.clock, logger: this.options.logger,
    });
    this.election = this.elector.run(() => { this.startWorking(); }, () => {
      this.isLeading = false;
      this.queue.shutDown();
      this.probes.stop();
      this.options.onLostLeadership?.();
    }).catch((error: unknown) => {
      this.fatal = `leader election stopped: ${describeApiError(error)}`;
      this.options.logger.error({ err: describeApiError(error) }, "leader election stopped; this replica no longer works or stands by");
    });
  }

  /** The caches endpoint discovery reads; Gateways only where the Gateway API is served. */
  private async discoveryReflectors(watch: Watch, scopes: readonly (string | undefined)[], caches: NonNullable<Controller["discovery"]>): Promise<void> {
    const gateways = await apiGroupServed(this.options.kubeConfig, GATEWAY.group, GATEWAY.version, this.options.clock, () => this.isStopping());
    if (!gateways) this.options.logger.info({ group: `${GATEWAY.group}/${GATEWAY.version}` }, "the Gateway API is not served: endpoint discovery reads Ingresses only (restart after installing it)");
    for (const namespace of scopes) {
      this.reflectors.push(this.discoveryReflector(watch, namespace, ingressSource(namespace), caches.ingresses), this.discoveryReflector(watch, namespace, serviceSource(namespace), caches.services));
      if (gateways) this.reflectors.push(this.discoveryReflector(watch, namespace, gatewaySource(namespace), caches.gateways));
    }
  }

  private discoveryReflector<T>(watch: Watch, namespace: string | undefined, source: DiscoverySource<T>, store: Map<string, T>): { name: string; reflector: Reflector<T> } {
    return this.reflector<T>(watch, namespace, source.kind, {
      list: () => listPages(this.options.kubeConfig, source.path, source.query, source.trim),
      watchPath: source.path, watchQuery: { ...source.query },
      transform: source.transform, keyOf: source.keyOf, store,
      // An Ingress, Gateway or Service changed: discovery runs again (gathered, they come in bursts).
      onChange: () => { if (this.isLeading) this.probes.syncSoon(); },
    });
  }

  /** Read through a method: `stop` may have run during start's await (no narrowing across it). */
  private isStopping(): boolean {
    return this.stopping;
  }

  /**
   * Why this process cannot recover by itself, or undefined while it can:
   * the caches have not synced, or a cache has failed every LIST and watch,
   * for longer than `stuckAfterMs`; or a part of it died. What /healthz reports.
   */
  unhealthy(): string | undefined {
    if (this.fatal !== undefined) return this.fatal;
    const now = this.options.clock.now().getTime();
    const limit = this.options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
    const server = this.options.kubeConfig.getCurrentCluster()?.server ?? "the API server";
    for (const { name, reflector } of this.reflectors) {
      const since = reflector.failingSince;
      if (since !== undefined && now - since > limit) return `the ${name} cache has failed to list or watch ${server} for ${Math.round((now - since) / 1000)} s`;
    }
    if (!this.isSynced && this.startedAt > 0 && now - this.startedAt > limit) return `caches not synced ${Math.round((now - this.startedAt) / 1000)} s after start`;
    return undefined;
  }

  /**
   * Stops watching, lets running reconciles finish (fetches in flight end,
   * fetches not sent yet are dropped), then gives up the Lease (graceful
   * shutdown on SIGTERM).
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const { reflector } of this.reflectors) reflector.stop();
    this.queue.shutDown();
    this.fetcher.stop();
    this.probes.stop();
    await this.dispatching;
    this.isLeading = false;
    this.elector?.stop();
    await this.election;
  }

  private startWorking(): void {
    this.isLeading = true;
    for (const key of this.secrets.keys()) this.unexamined.add(key);
    for (const key of this.secrets.keys()) this.queue.add(secretItem(key));
    for (const key of this.configs.keys()) this.queue.add(statusItem(key));
    this.probes.sync();
    this.dispatching = this.dispatch();
  }

  /** The staples in place, for the metrics, read when Prometheus scrapes. */
  private *staples(): Iterable<StapleSample> {
    for (const [key, state] of this.reconciler.states) {
      yield {
        namespace: key.split("/")[0] ?? "", secret: state.name, config: state.config,
        certStatus: state.staple === undefined ? "none" : (state.certStatus ?? "unknown").toLowerCase(),
        ...(state.nextUpdateMs === undefined ? {} : { nextUpdateMs: state.nextUpdateMs }),
        ...(state.nextCheckAtMs === undefined ? {} : { nextRefreshMs: state.nextCheckAtMs }),
        ...(state.noResponder === true ? { noResponder: true } : {}),
        ...(mustStapleUnstapled(state) ? { mustStapleUnstapled: true } : {}),
      };
    }
  }

  /**
   * Hands each key to a reconcile as soon as a slot is free; a reconcile
   * waiting on a responder gives its slot back meanwhile (Slots). Ends when
   * the queue is shut down and every running reconcile has finished.
   */
  private async dispatch(): Promise<void> {
    const running = new Set<Promise<void>>();
    for (let started = 1; ; started++) {
      // A slot, an item and a reconcile turned away (HostBusy) all resolve as microtasks: without
      // this, a first pass of 10,000 Secrets ran for seconds without serving one socket or timer,
      // and fetches already sent timed out (then were sent again: 10,004 requests for 10,000).
      if (started % DISPATCH_BATCH === 0) await yieldToEventLoop();
      await this.slots.acquire();
      const item = await this.queue.next();
      if (item === undefined) {
        this.slots.release();
        break;
      }
      const reconcile = this.process(item).finally(() => {
        this.slots.release();
        running.delete(reconcile);
      });
      running.add(reconcile);
    }
    await Promise.all(running);
  }

  /**
   * Runs one item and interprets how it ended: done (its error backoff
   * forgotten), or failed: retried after a per-item backoff (ErrorBackoff),
   * never sooner than the API server's Retry-After.
   */
  private async process(item: WorkItem): Promise<void> {
    const id = workItemId(item);
    try {
      if (item.kind === "status") await this.writeStatus(item.config);
      else await this.reconcileSecret(item.key);
      this.errorBackoff.forget(id);
      this.metrics.reconciles.inc({ result: "done" });
    } catch (error) {
      this.metrics.reconciles.inc({ result: "error" });
      const retryAfter = retryAfterMs(error);
      if (retryAfter !== undefined) this.options.onRetryAfter?.(retryAfter);
      const delayMs = Math.round(this.errorBackoff.failed(id, retryAfter));
      this.options.logger.error({ ...item, err: describeApiError(error), retryAfterMs: retryAfter, failures: this.errorBackoff.failuresOf(id), delayMs }, "reconcile failed; retrying");
      this.queue.addAfter(item, delayMs);
    } finally {
      if (item.kind === "secret") this.examined(item.key);
      this.queue.done(item);
    }
  }

  private async reconcileSecret(key: string): Promise<void> {
    const outcome = await this.reconciler.reconcile(key);
    for (const config of outcome.touchedConfigs) this.queue.addAfter(statusItem(config), STATUS_BATCH_MS);
    if (outcome.requeueAfterMs !== undefined) this.queue.addAfter(secretItem(key), outcome.requeueAfterMs);
    void outcome.retryWhen?.then(() => { this.queue.add(secretItem(key)); });
  }

  /** A Secret's key was reconciled (or failed to be); once the first pass is over, every config's status is due. */
  private examined(key: string): void {
    if (!this.unexamined.delete(key) || this.unexamined.size > 0) return;
    for (const config of this.configs.keys()) this.queue.addAfter(statusItem(config), STATUS_BATCH_MS);
  }

  /**
   * The only place a StapleConfig status is written, and only when it
   * changed: from the Secrets the selection index says it selects, so the
   * cost is O(selected), whatever the size of the fleet.
   */
  private async writeStatus(key: string): Promise<void> {
    const config = this.configs.get(key);
    if (config === undefined) return;
    const owned: SecretState[] = [];
    const conflicts: string[] = [];
    for (const selected of this.selection.selectedBy(key)) {
      const secret = this.secrets.get(selected);
      if (secret === undefined) continue;
      if (this.selection.ownerOf(selected) !== key) conflicts.push(secret.name);
      // Not looked at since the start yet: its reconcile (or the end of the first pass) brings this status back.
      else if (this.unexamined.has(selected)) return;
      else owned.push(this.reconciler.states.get(selected) ?? { config: key, name: secret.name, failures: 0 });
    }
    const status = computeStatus(config.generation, owned, conflicts, config.status, this.options.clock.now(), this.probes.statusOf(config));
    if (!statusChanged(status, config.status)) return;
    await this.custom.patchNamespacedCustomObjectStatus(
      { ...STAPLE_CONFIG, namespace: config.namespace, name: config.name, body: { status }, fieldManager: FIELD_MANAGER },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    this.metrics.apiWrites.inc({ kind: "status" });
  }

  private secretReflector(watch: Watch, namespace: string | undefined): { name: string; reflector: Reflector<TlsSecret> } {
    return this.reflector<TlsSecret>(watch, namespace, "tls-secrets", {
      ...this.secretSource(namespace, { fieldSelector: `type=${TLS_SECRET_TYPE}` }, trimTlsSecret),
      transform: toTlsSecret,
      keyOf: secretKey,
      store: this.secrets,
      onChange: (key, secret) => {
        // A deleted Secret is reconciled once now; its refresh timer would only wake it for nothing.
        if (secret === undefined) this.forget(secretItem(key));
        this.queue.add(secretItem(key));
        // Every config that selects it (or did) counts it: the owner, and the others as Conflict.
        for (const config of this.selection.secretChanged(key, secret, this.configs)) this.queue.addAfter(statusItem(config), STATUS_BATCH_MS);
        // Discovery probes the hosts that serve selected Secrets: a selection may have changed.
        if (this.isLeading) this.probes.syncSoon();
      },
    });
  }

  private companionReflector(watch: Watch, namespace: string | undefined): { name: string; reflector: Reflector<CompanionSnapshot> } {
    return this.reflector<CompanionSnapshot>(watch, namespace, "companions", {
      ...this.secretSource(namespace, { labelSelector: `${LABEL.managedBy}=${FIELD_MANAGER}` }, trimCompanion),
      transform: toCompanionSnapshot,
      keyOf: secretKey,
      store: this.companions,
      // A companion changed or vanished: its source Secret is re-checked (and restapled if needed),
      // unless this is the echo of our own write.
      onChange: (key, companion, previous) => {
        if (this.companions.isEcho(key, companion)) return;
        const changed = companion ?? previous;
        if (changed !== undefined) this.queue.add(secretItem(`${changed.namespace}/${changed.source}`));
      },
    });
  }

  /**
   * LIST and WATCH of the Secrets one selector picks, in one namespace or all
   * of them. The LIST is read in pages, each item cut down by `trim` at once.
   */
  private secretSource(namespace: string | undefined, selector: { fieldSelector: string } | { labelSelector: string }, trim: (raw: unknown) => unknown): { list: () => Promise<ListResult>; watchPath: string; watchQuery: Record<string, string> } {
    const path = namespace === undefined ? "/api/v1/secrets" : `/api/v1/namespaces/${namespace}/secrets`;
    return { list: () => listPages(this.options.kubeConfig, path, selector, trim), watchPath: path, watchQuery: selector };
  }

  private configReflector(watch: Watch, namespace: string | undefined): { name: string; reflector: Reflector<StapleConfig> } {
    const { group, version, plural } = STAPLE_CONFIG;
    return this.reflector<StapleConfig>(watch, namespace, "stapleconfigs", {
      list: async () => listResult((namespace === undefined
        ? await this.custom.listClusterCustomObject({ group, version, plural })
        : await this.custom.listNamespacedCustomObject({ group, version, namespace, plural })) as unknown),
      watchPath: namespace === undefined ? `/apis/${group}/${version}/${plural}` : `/apis/${group}/${version}/namespaces/${namespace}/${plural}`,
      watchQuery: {},
      transform: toStapleConfig,
      keyOf: configKey,
      store: this.configs,
      // A config's spec changed (or it came or went): every Secret in its namespace may have changed
      // hands. Status writes change the object too, but not its generation: those requeue nothing,
      // or each status write would set off the next.
      // The status follows at once after a spec change; after a status write (ours coming back, or
      // someone else's edit) it is gathered like any other, or under churn each status write would
      // set off the next at once instead of one a second.
      onChange: (key, config, previous) => {
        const namespace = (config ?? previous)?.namespace ?? "";
        const specChanged = config?.generation !== previous?.generation || config?.uid !== previous?.uid;
        if (specChanged) this.requeueNamespace(namespace);
        if (selectionChanged(config, previous)) {
          for (const other of this.selection.configChanged(namespace, this.secrets, this.configs)) this.queue.addAfter(statusItem(other), STATUS_BATCH_MS);
        }
        if (config === undefined) this.forget(statusItem(key));
        // Only the replica at work probes (a standby's verdicts would go nowhere).
        if (specChanged && this.isLeading) this.probes.sync();
        this.queue.addAfter(statusItem(key), specChanged ? 0 : STATUS_BATCH_MS);
      },
    });
  }

  private requeueNamespace(namespace: string): void {
    for (const secret of this.secrets.values()) if (secret.namespace === namespace) this.queue.add(secretItem(secretKey(secret)));
  }

  /** An item whose object is gone: no refresh timer and no error count outlive it. */
  private forget(item: WorkItem): void {
    this.queue.forgetDelayed(item);
    this.errorBackoff.forget(workItemId(item));
  }

  /** A reflector filling one of the controller's maps; events before the first sync only fill the cache. */
  private reflector<T>(watch: Watch, namespace: string | undefined, kind: string, spec: {
    list: () => Promise<ListResult>; watchPath: string; watchQuery: Record<string, string>;
    transform: (raw: unknown) => T | undefined; keyOf: (item: T) => string; store: Map<string, T>;
    onChange: (key: string, item: T | undefined, previous: T | undefined) => void;
  }): { name: string; reflector: Reflector<T> } {
    const name = namespace === undefined ? kind : `${kind}/${namespace}`;
    const reflector = new Reflector<T>({
      ...spec,
      name,
      watch,
      logger: this.options.logger,
      server: this.options.kubeConfig.getCurrentCluster()?.server ?? "",
      clock: this.options.clock,
      onEnd: (end) => { this.metrics.watchEnds.inc({ reflector: name, end }); },
      onChange: (key, item, previous) => { if (this.isSynced) spec.onChange(key, item, previous); },
    });
    return { name, reflector };
  }
}

/** A typed or plain LIST answer as the reflector wants it. */
function listResult(list: unknown): ListResult {
  const value = list as { items?: unknown[]; metadata?: { resourceVersion?: string } };
  return { items: value.items ?? [], resourceVersion: value.metadata?.resourceVersion ?? "" };
}

/** Lets the event loop serve I/O and timers before going on (a macrotask, unlike an awaited promise). */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => { setImmediate(resolve); });
}
