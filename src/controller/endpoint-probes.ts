import type { Logger } from "pino";
import type { Scheduler } from "../ocsp/clock.ts";
import type { VerificationCache } from "../ocsp/verification-cache.ts";
import type { EventRecorder } from "../kube/event-recorder.ts";
import { configKey, type StapleConfig } from "../kube/staple-config.ts";
import type { TlsSecret } from "../kube/tls-secret.ts";
import type { SecretState } from "../staple/secret-state.ts";
import type { EndpointSample } from "../probe/endpoint-state.ts";
import { endpointsStatus, type EndpointsStatus } from "../probe/endpoint-status.ts";
import { judgeEndpoint, type Expected } from "../probe/judge-endpoint.ts";
import { observeEndpoint, sha256 } from "../probe/observe-endpoint.ts";
import { Prober, type EndpointResult, type ProbeTarget } from "../probe/prober.ts";

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

  constructor(deps: EndpointProbesDependencies) {
    this.deps = deps;
    this.prober = new Prober({
      scheduler: deps.scheduler, logger: deps.logger,
      run: async (target, signal) => this.probe(target, signal),
      onChange: (result, previous) => { this.changed(result, previous); },
      ...(deps.onProbed === undefined ? {} : { onProbed: deps.onProbed }),
    });
  }

  /** Probes what the configs' specs list now (call when working starts and whenever a config changes). */
  sync(): void {
    const targets: ProbeTarget[] = [];
    for (const config of this.deps.configs.values()) {
      const key = configKey(config);
      for (const endpoint of config.probe.endpoints) {
        targets.push({ id: `${key}|${endpoint.address}|${endpoint.serverName ?? ""}`, config: key, endpoint, intervalMs: config.probe.intervalMs, timeoutMs: config.probe.timeoutMs, propagationGraceMs: config.probe.propagationGraceMs });
      }
    }
    this.prober.sync(targets);
    for (const key of this.storedSince.keys()) if (!this.deps.secrets.has(key)) this.storedSince.delete(key);
  }

  stop(): void {
    this.prober.stop();
  }

  /** The endpoints' part of a config's status; undefined when its spec lists none. */
  statusOf(config: StapleConfig): EndpointsStatus | undefined {
    return config.probe.endpoints.length === 0 ? undefined : endpointsStatus(this.prober.resultsOf(configKey(config)));
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
    return { judgement: judgeEndpoint(observed.observation, expected, nowMs), ...(secret === undefined ? {} : { secret: secret.name }) };
  }

  /** The Secret the endpoint names, else the selected one holding the served leaf. */
  private secretFor(target: ProbeTarget, servedLeafSha256: string): TlsSecret | undefined {
    const namespace = target.config.split("/")[0] ?? "";
    if (target.endpoint.secret !== undefined) return this.deps.secrets.get(`${namespace}/${target.endpoint.secret}`);
    for (const key of this.deps.selectedBy(target.config)) {
      const secret = this.deps.secrets.get(key);
      const leaf = secret?.chain.ders[0];
      if (leaf !== undefined && sha256(leaf) === servedLeafSha256) return secret;
    }
    return undefined;
  }

  private expectedOf(secret: TlsSecret, servedLeafSha256: string | undefined, nowMs: number): NonNullable<Expected["secret"]> {
    const key = `${secret.namespace}/${secret.name}`;
    const state = this.deps.states.get(key);
    const leaf = secret.chain.ders[0];
    const stored = state?.staple === undefined ? undefined : state.thisUpdateMs;
    return {
      name: secret.name, serial: state?.serial ?? "unknown",
      leafMatches: leaf !== undefined && servedLeafSha256 !== undefined && sha256(leaf) === servedLeafSha256,
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
