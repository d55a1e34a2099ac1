import type { Logger } from "pino";
import type { Scheduler, Timer } from "../ocsp/clock.ts";
import type { GatewaySummary } from "../kube/gateway-summary.ts";
import type { IngressSummary } from "../kube/ingress-summary.ts";
import type { ServiceSummary } from "../kube/service-summary.ts";
import type { VerificationCache } from "../ocsp/verification-cache.ts";
import type { EventRecorder } from "../kube/event-recorder.ts";
import { configKey, type StapleConfig } from "../kube/staple-config.ts";
import type { TlsSecret } from "../kube/tls-secret.ts";
import type { SecretState } from "../staple/secret-state.ts";
import type { EndpointSample } from "../probe/endpoint-state.ts";
import { endpointsStatus, type EndpointsStatus } from "../probe/endpoint-status.ts";
import { discoverEndpoints, MAX_DISCOVERED_ENDPOINTS } from "../probe/discover-endpoints.ts";
import { judgeEndpoint, type Expected } from "../probe/judge-endpoint.ts";
import { sha256Hex } from "../ocsp/bytes.ts";
import { observeEndpoint } from "../probe/observe-endpoint.ts";
import { Prober, type EndpointResult, type ProbeTarget } from "../probe/prober.ts";

/** The caches discovery reads (`--discover-endpoints`); absent when the controller does not discover. */
export interface DiscoveryCaches {
  readonly ingresses: ReadonlyMap<string, IngressSummary>;
  readonly gateways: ReadonlyMap<string, GatewaySummary>;
  readonly services: ReadonlyMap<string, ServiceSummary>;
}

/** What a StapleConfig with discover on but a controller without --discover-endpoints is told. */
export const DISCOVERY_OFF = "discovery is off in this installation: the controller runs without --discover-endpoints (chart: --set probe.discover=true), so only spec.probe.endpoints are probed";

/** Changes of Ingresses, Gateways, Services and selections are gathered this long before discovery runs again. */
const DISCOVERY_BATCH_MS = 1_000;

export interface EndpointProbesDependencies {
  readonly configs: ReadonlyMap<string, StapleConfig>;
  readonly secrets: ReadonlyMap<string, TlsSecret>;
  /** The keys of the Secrets a config selects (the selection index). */
  readonly selectedBy: (config: string) => ReadonlySet<string>;
  /** The reconciler's per-Secret states: the stored staple's thisUpdate. */
  readonly states: ReadonlyMap<string, SecretState>;
  readonly events: EventRecorder;
  readonly scheduler: Scheduler;
  readonly logger: Logger;
  readonly cache?: VerificationCache;
  readonly discovery?: DiscoveryCaches;
  /** A config's endpoints say something new: its status is due. */
  readonly onStatusDue: (config: string) => void;
  readonly onProbed?: (state: string) => void;
}

/**
 * The controller's side of the prober: which endpoints to probe (every
 * config's spec.probe), what each should serve (the Secret it names, or the
 * selected Secret whose certificate it serves, and the staple stored for it),
 * and what a change of verdict sets off (a status write, an Event).
 */
export class EndpointProbes {
  private readonly prober: Prober;
  private readonly deps: EndpointProbesDependencies;
  /**
   * Since when each Secret's stored staple is known, by its thisUpdate: the
   * start of its propagationGrace. Known at the first probe that sees it (or
   * at a restart): a grace counted late, never early.
   */
  private readonly storedSince = new Map<string, { thisUpdateMs: number; sinceMs: number }>();
  /** Per config with discover on: what discovery found last, for its status. */
  private readonly discovered = new Map<string, { found: number; unresolved: readonly string[] }>();
  /**
   * Each cached TLS Secret's leaf SHA-256, computed once: an endpoint that
   * names no Secret is matched against every selected one at every probe.
   * Keyed by the cache's object, which a change of the Secret replaces.
   */
  private readonly leafDigests = new WeakMap<TlsSecret, string | undefined>();
  private syncTimer: Timer | undefined;
  private stopped = false;

  constructor(deps: EndpointProbesDependencies) {
    this.deps = deps;
    this.prober = new Prober({
      scheduler: deps.scheduler, logger: deps.logger,
      run: async (target, signal) => this.probe(target, signal),
      onChange: (result, previous) => { this.changed(result, previous); },
      ...(deps.onProbed === undefined ? {} : { onProbed: deps.onProbed }),
    });
  }

  /**
   * Probes what the configs' specs list and discovery finds now (call when
   * working starts and whenever a config changes); a config whose discovery
   * result changed gets its status written.
   */
  sync(): void {
    if (this.stopped) return;
    this.syncTimer?.cancel();
    this.syncTimer = undefined;
    const targets: ProbeTarget[] = [];
    for (const config of this.deps.configs.values()) targets.push(...this.targetsOf(config));
    this.prober.sync(targets);
    for (const key of this.storedSince.keys()) if (!this.deps.secrets.has(key)) this.storedSince.delete(key);
    for (const key of this.discovered.keys()) if (!this.deps.configs.has(key)) this.discovered.delete(key);
  }

  /** sync() after a short gathering: for Ingress, Gateway, Service and Secret events, which come in bursts. */
  syncSoon(): void {
    if (this.stopped || this.syncTimer !== undefined || ![...this.deps.configs.values()].some((config) => config.probe.discover)) return;
    this.syncTimer = this.deps.scheduler.setTimer(DISCOVERY_BATCH_MS, () => { this.sync(); }, { unref: true });
  }

  stop(): void {
    this.stopped = true;
    this.syncTimer?.cancel();
    this.prober.stop();
  }

  /** The endpoints' part of a config's status; undefined when its spec neither lists nor discovers any. */
  statusOf(config: StapleConfig): EndpointsStatus | undefined {
    if (config.probe.endpoints.length === 0 && !config.probe.discover) return undefined;
    return endpointsStatus(this.prober.resultsOf(configKey(config)), config.probe.discover ? this.discovered.get(configKey(config)) ?? { found: 0, unresolved: [] } : undefined);
  }

  /** The listed endpoints, then the discovered ones not listed (a listed one wins: its `secret` is the user's). */
  private targetsOf(config: StapleConfig): ProbeTarget[] {
    const key = configKey(config);
    const target = (endpoint: ProbeTarget["endpoint"]): ProbeTarget => ({
      id: `${key}|${endpoint.address}|${endpoint.serverName ?? ""}`, config: key, endpoint,
      intervalMs: config.probe.intervalMs, timeoutMs: config.probe.timeoutMs, propagationGraceMs: config.probe.propagationGraceMs,
    });
    const listed = config.probe.endpoints.map(target);
    if (!config.probe.discover) {
      this.discovered.delete(key);
      return listed;
    }
    const found = this.discover(config, listed.length);
    const ids = new Set(listed.map((entry) => entry.id));
    const extra = found.endpoints.map(({ address, serverName, secret }) => target({ address, secret, ...(serverName === undefined ? {} : { serverName }) })).filter((entry) => !ids.has(entry.id));
    const summary = { found: extra.length, unresolved: found.unresolved };
    const before = this.discovered.get(key);
    this.discovered.set(key, summary);
    if (before !== undefined && JSON.stringify(before) !== JSON.stringify(summary)) this.deps.onStatusDue(key);
    return [...listed, ...extra];
  }

  private discover(config: StapleConfig, listed: number): { endpoints: readonly { address: string; serverName?: string; secret: string }[]; unresolved: readonly string[] } {
    const caches = this.deps.discovery;
    if (caches === undefined) return { endpoints: [], unresolved: [DISCOVERY_OFF] };
    const selectedSecrets = new Set([...this.deps.selectedBy(configKey(config))].map((key) => key.slice(key.indexOf("/") + 1)));
    return discoverEndpoints({
      namespace: config.namespace, selectedSecrets,
      ingresses: caches.ingresses.values(), gateways: caches.gateways.values(), services: caches.services.values(),
      // Listed and discovered together stay within the 50 a spec may list.
      limit: Math.max(0, MAX_DISCOVERED_ENDPOINTS - listed),
      ...(config.probe.discoverAddress === undefined ? {} : { address: config.probe.discoverAddress }),
    });
  }

  /** Every endpoint as the metrics see it, ages at `nowMs`. */
  *samples(nowMs: number): Iterable<EndpointSample> {
    for (const { target, judgement, secret } of this.prober.results()) {
      if (judgement.state === "Pending") continue;
      const [namespace = "", config = ""] = target.config.split("/");
      const { address, serverName } = target.endpoint;
      yield {
        namespace, config, endpoint: serverName === undefined ? address : `${address}/${serverName}`, secret: secret ?? "",
        state: judgement.state, reachable: judgement.reachable,
        ...(judgement.stapleServed === undefined ? {} : { stapleServed: judgement.stapleServed }),
        ...(judgement.servedThisUpdateMs === undefined ? {} : { stapleAgeSeconds: (nowMs - judgement.servedThisUpdateMs) / 1000 }),
        ...(judgement.behindMs === undefined ? {} : { behindSeconds: judgement.behindMs / 1000 }),
        ...(judgement.certificateMatches === undefined ? {} : { certificateMatches: judgement.certificateMatches }),
      };
    }
  }

  private async probe(target: ProbeTarget, signal: AbortSignal): Promise<{ judgement: ReturnType<typeof judgeEndpoint>; secret?: string }> {
    let secret: TlsSecret | undefined;
    const observed = await observeEndpoint(target.endpoint, {
      timeoutMs: target.timeoutMs, signal, at: () => this.deps.scheduler.now(),
      ...(this.deps.cache === undefined ? {} : { cache: this.deps.cache }),
      // The Secret is known once the served leaf is: its CA certificates help verify a staple whose issuer the server did not send.
      authoritiesFor: (leafSha256) => {
        secret = this.secretFor(target, leafSha256);
        return secret === undefined ? [] : [...secret.chain.ders.slice(1), ...(secret.caBundle?.ders ?? [])];
      },
    });
    secret ??= observed.servedLeafSha256 === undefined ? undefined : this.secretFor(target, observed.servedLeafSha256);
    const nowMs = this.deps.scheduler.now().getTime();
    const expected: Expected = { propagationGraceMs: target.propagationGraceMs, ...(secret === undefined ? {} : { secret: this.expectedOf(secret, observed.servedLeafSha256, nowMs) }) };
    // The Secret compared with; without a handshake, the one the spec (or discovery) names.
    const compared = secret?.name ?? target.endpoint.secret;
    return { judgement: judgeEndpoint(observed.observation, expected, nowMs), ...(compared === undefined ? {} : { secret: compared }) };
  }

  /** The Secret the endpoint names, else the selected one holding the served leaf. */
  private secretFor(target: ProbeTarget, servedLeafSha256: string): TlsSecret | undefined {
    const namespace = target.config.split("/")[0] ?? "";
    if (target.endpoint.secret !== undefined) return this.deps.secrets.get(`${namespace}/${target.endpoint.secret}`);
    for (const key of this.deps.selectedBy(target.config)) {
      const secret = this.deps.secrets.get(key);
      if (secret !== undefined && this.leafDigest(secret) === servedLeafSha256) return secret;
    }
    return undefined;
  }

  private leafDigest(secret: TlsSecret): string | undefined {
    if (this.leafDigests.has(secret)) return this.leafDigests.get(secret);
    const leaf = secret.chain.ders[0];
    const digest = leaf === undefined ? undefined : sha256Hex(leaf);
    this.leafDigests.set(secret, digest);
    return digest;
  }

  private expectedOf(secret: TlsSecret, servedLeafSha256: string | undefined, nowMs: number): NonNullable<Expected["secret"]> {
    const key = `${secret.namespace}/${secret.name}`;
    const state = this.deps.states.get(key);
    const stored = state?.staple === undefined ? undefined : state.thisUpdateMs;
    const leafDigest = this.leafDigest(secret);
    return {
      name: secret.name, serial: state?.serial ?? "unknown",
      leafMatches: leafDigest !== undefined && leafDigest === servedLeafSha256,
      ...(stored === undefined ? {} : { stored: { thisUpdateMs: stored, seenSinceMs: this.seenSince(key, stored, nowMs) } }),
    };
  }

  private seenSince(key: string, thisUpdateMs: number, nowMs: number): number {
    const known = this.storedSince.get(key);
    if (known?.thisUpdateMs === thisUpdateMs) return known.sinceMs;
    this.storedSince.set(key, { thisUpdateMs, sinceMs: nowMs });
    return nowMs;
  }

  /**
   * A new verdict: the status is due; an Event when the state changed, except
   * a first probe that finds all well (a start is not news).
   */
  private changed(result: EndpointResult, previous: EndpointResult): void {
    this.deps.onStatusDue(result.target.config);
    const { state, message } = result.judgement;
    if (state === previous.judgement.state || state === "Pending" || (state === "Served" && previous.judgement.state === "Pending")) return;
    const config = this.deps.configs.get(result.target.config);
    if (config === undefined) return;
    const { address, serverName } = result.target.endpoint;
    this.deps.events.record(
      [{ apiVersion: "ocsp-stapler.io/v1alpha1", kind: "StapleConfig", namespace: config.namespace, name: config.name, uid: config.uid }],
      state === "Served" ? "Normal" : "Warning", state,
      `endpoint ${serverName === undefined ? address : `${address} (${serverName})`}: ${message}`,
    );
  }
}
