import type { RequestMethod } from "../ocsp/responder-client.ts";
import { isConsumer, type Consumer } from "../staple/consumer-profile.ts";
import { parseDuration } from "../staple/duration.ts";
import { DEFAULT_REFRESH_POLICY, type RefreshPolicy } from "../staple/refresh-policy.ts";
import type { LabelSelector } from "./label-selector.ts";
import { isStringMap, timestamp } from "./tls-secret.ts";

export const STAPLE_CONFIG = { group: "ocsp-stapler.io", version: "v1alpha1", plural: "stapleconfigs" } as const;

/** A StapleConfig as the controller uses it: defaults applied, durations in milliseconds. */
export interface StapleConfig {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly generation: number;
  readonly creationTimestamp: string;
  readonly selector: LabelSelector;
  readonly target: {
    readonly mode: "Companion" | "InPlace";
    readonly nameSuffix: string;
    readonly keys: readonly string[];
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
    /** Whose acceptance rules a staple must pass before it is published (consumer-profile.ts). */
    readonly consumer: Consumer;
  };
  readonly policy: RefreshPolicy;
  readonly responder: { readonly urlOverride: string; readonly timeoutMs: number; readonly method: RequestMethod };
  readonly chain: "Leaf" | "Full";
  /** Endpoints whose served staple is checked (src/probe/); none: nothing is probed. */
  readonly probe: ProbeSpec;
  /** The status as last stored, to skip writes that change nothing. */
  readonly status: unknown;
}

/** One endpoint of `spec.probe.endpoints`. */
export interface ProbeEndpoint {
  readonly address: string;
  readonly serverName?: string;
  readonly secret?: string;
}

export interface ProbeSpec {
  readonly endpoints: readonly ProbeEndpoint[];
  /** Also probe the hosts of Ingresses and Gateways that serve a selected Secret (src/probe/discover-endpoints.ts). */
  readonly discover: boolean;
  /** Where discovered hosts are probed; absent: each object's status address. */
  readonly discoverAddress?: string;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly propagationGraceMs: number;
}

interface RawConfig {
  metadata?: { namespace?: unknown; name?: unknown; uid?: unknown; generation?: unknown; creationTimestamp?: unknown };
  spec?: {
    secretSelector?: LabelSelector;
    target?: { mode?: unknown; nameSuffix?: unknown; keys?: unknown; labels?: unknown; annotations?: unknown; consumer?: unknown };
    refresh?: { fraction?: unknown; minInterval?: unknown; retry?: { initial?: unknown; max?: unknown } };
    responder?: { urlOverride?: unknown; timeout?: unknown; method?: unknown };
    chain?: unknown;
    probe?: { endpoints?: unknown; interval?: unknown; timeout?: unknown; propagationGrace?: unknown; discover?: unknown; discoverAddress?: unknown };
  };
  status?: unknown;
}

/**
 * Reads a StapleConfig object. The API server has already validated and
 * defaulted it against the CRD schema; defaults are applied again so an
 * object from an older CRD version still works. Anything unusable gives
 * undefined (and the controller ignores the object).
 */
export function toStapleConfig(raw: unknown): StapleConfig | undefined {
  const object = raw as RawConfig | null;
  const { namespace, name, uid, generation, creationTimestamp } = object?.metadata ?? {};
  if (typeof namespace !== "string" || typeof name !== "string" || typeof uid !== "string") return undefined;
  const spec = object?.spec ?? {};
  try {
    return {
      namespace, name, uid,
      generation: typeof generation === "number" ? generation : 0,
      creationTimestamp: timestamp(creationTimestamp),
      selector: spec.secretSelector ?? {},
      target: {
        mode: spec.target?.mode === "InPlace" ? "InPlace" : "Companion",
        nameSuffix: typeof spec.target?.nameSuffix === "string" ? spec.target.nameSuffix : "-ocsp",
        keys: Array.isArray(spec.target?.keys) ? spec.target.keys.filter((key): key is string => typeof key === "string") : ["tls.ocsp"],
        labels: isStringMap(spec.target?.labels) ? spec.target.labels : {},
        annotations: isStringMap(spec.target?.annotations) ? spec.target.annotations : {},
        consumer: isConsumer(spec.target?.consumer) ? spec.target.consumer : "Auto",
      },
      policy: {
        fraction: typeof spec.refresh?.fraction === "number" ? spec.refresh.fraction : DEFAULT_REFRESH_POLICY.fraction,
        minIntervalMs: durationOr(spec.refresh?.minInterval, DEFAULT_REFRESH_POLICY.minIntervalMs),
        retry: {
          initialMs: durationOr(spec.refresh?.retry?.initial, DEFAULT_REFRESH_POLICY.retry.initialMs),
          maxMs: durationOr(spec.refresh?.retry?.max, DEFAULT_REFRESH_POLICY.retry.maxMs),
        },
      },
      responder: {
        urlOverride: typeof spec.responder?.urlOverride === "string" ? spec.responder.urlOverride : "",
        timeoutMs: durationOr(spec.responder?.timeout, 10_000),
        method: spec.responder?.method === "GET" || spec.responder?.method === "POST" ? spec.responder.method : "Auto",
      },
      chain: spec.chain === "Full" ? "Full" : "Leaf",
      probe: {
        endpoints: probeEndpoints(spec.probe?.endpoints),
        discover: spec.probe?.discover === true,
        ...(typeof spec.probe?.discoverAddress === "string" ? { discoverAddress: spec.probe.discoverAddress } : {}),
        intervalMs: durationOr(spec.probe?.interval, 60_000),
        timeoutMs: durationOr(spec.probe?.timeout, 10_000),
        propagationGraceMs: durationOr(spec.probe?.propagationGrace, 5 * 60_000),
      },
      status: object?.status,
    };
  } catch {
    return undefined;
  }
}

/** The endpoints with an address; the CRD has checked their form. */
function probeEndpoints(raw: unknown): ProbeEndpoint[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((item: { address?: unknown; serverName?: unknown; secret?: unknown } | null) => typeof item?.address !== "string" ? [] : [{
    address: item.address,
    ...(typeof item.serverName === "string" ? { serverName: item.serverName } : {}),
    ...(typeof item.secret === "string" ? { secret: item.secret } : {}),
  }]);
}

function durationOr(value: unknown, fallbackMs: number): number {
  return typeof value === "string" ? parseDuration(value) : fallbackMs;
}

export function configKey(config: { namespace: string; name: string }): string {
  return `${config.namespace}/${config.name}`;
}
