import { readFile } from "node:fs/promises";
import type { V1Secret } from "@kubernetes/client-node";
import { request } from "undici";
import { ANNOTATION } from "../../src/kube/metadata-keys.ts";
import { sumSeries } from "../../test/support/prometheus-text.ts";
import { ascending, percentile } from "./percentile.ts";

/** The kinds of API write the controller counts in ocsp_stapler_api_writes_total. */
export const WRITE_KINDS = ["companion", "status", "event", "delete"] as const;
export type WriteKind = (typeof WRITE_KINDS)[number];

/** What the soak saw at one moment. Counters are cumulative since the controller started. */
export interface Sample {
  /** Seconds since the controller was started. */
  readonly t: number;
  /** Companions holding a staple with both dates. */
  readonly stapled: number;
  /** Selected TLS Secrets without such a companion. */
  readonly missing: number;
  /** Companions whose staple had passed its nextUpdate: must stay empty. */
  readonly expired: readonly string[];
  /** Staple age (now − thisUpdate) as a share of its validity (nextUpdate − thisUpdate). */
  readonly age: { readonly p50: number; readonly p99: number; readonly max: number } | undefined;
  /** The least time left (nextUpdate − now) on any companion, in seconds. */
  readonly minLeftS: number | undefined;
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly caRequests: number;
  readonly writes: Readonly<Record<WriteKind, number>>;
  /** Fetches whose result was not a verified `good` (an error code, `unknown`, `revoked`). */
  readonly fetchFailures: number;
  /** Staples replaced by a newer one (thisUpdate changed) seen so far. */
  readonly refreshes: number;
  /** Seconds between successive thisUpdates of one companion, for refreshes first seen in this sample. */
  readonly refreshIntervalsS: readonly number[];
}

export interface SamplerSources {
  /** How many TLS Secrets the StapleConfig selects. */
  readonly selected: number;
  readonly listCompanions: () => Promise<readonly V1Secret[]>;
  readonly metricsUrl: string;
  readonly controllerPid: number;
  /** Requests that reached the CA's responder so far. */
  readonly caRequests: () => number;
  /** Date.now() when the controller was started. */
  readonly startedAt: number;
}

interface Staple { readonly thisUpdate: number; readonly nextUpdate: number }

/**
 * Takes samples from the outside, as a user would see the fleet: the
 * companion Secrets on the API server, the controller's /metrics and
 * /proc, and the responder's request count. Remembers each companion's
 * thisUpdate between samples to measure the real refresh interval.
 */
export class Sampler {
  private readonly lastThisUpdate = new Map<string, number>();
  private refreshes = 0;
  private readonly sources: SamplerSources;

  constructor(sources: SamplerSources) {
    this.sources = sources;
  }

  async sample(): Promise<Sample> {
    const [companions, metrics, memory] = await Promise.all([this.sources.listCompanions(), this.metrics(), this.rssMiB()]);
    // The time the list arrived: the snapshot is no younger, so ages are never understated.
    const now = Date.now();
    const staples = new Map<string, Staple>();
    for (const secret of companions) {
      const staple = stapleOf(secret);
      if (staple !== undefined) staples.set(secret.metadata?.name ?? "", staple);
    }
    const ages = ascending([...staples.values()].map((staple) => (now - staple.thisUpdate) / (staple.nextUpdate - staple.thisUpdate)));
    const lefts = [...staples.values()].map((staple) => (staple.nextUpdate - now) / 1000);
    return {
      t: (now - this.sources.startedAt) / 1000,
      stapled: staples.size,
      missing: Math.max(0, this.sources.selected - staples.size),
      expired: [...staples].filter(([, staple]) => staple.nextUpdate <= now).map(([name]) => name),
      age: ages.length === 0 ? undefined : { p50: percentile(ages, 50) ?? 0, p99: percentile(ages, 99) ?? 0, max: ages.at(-1) ?? 0 },
      minLeftS: lefts.length === 0 ? undefined : Math.min(...lefts),
      rssMiB: memory,
      heapMiB: sumSeries(metrics, "ocsp_stapler_nodejs_heap_size_used_bytes") / 1048576,
      caRequests: this.sources.caRequests(),
      writes: Object.fromEntries(WRITE_KINDS.map((kind) => [kind, sumSeries(metrics, "ocsp_stapler_api_writes_total", { kind })])) as Record<WriteKind, number>,
      fetchFailures: sumSeries(metrics, "ocsp_stapler_fetch_total") - sumSeries(metrics, "ocsp_stapler_fetch_total", { result: "good" }),
      refreshIntervalsS: this.noteRefreshes(staples),
      refreshes: this.refreshes,
    };
  }

  /** Records each companion's thisUpdate; returns the intervals of the staples replaced since the last sample. */
  private noteRefreshes(staples: ReadonlyMap<string, Staple>): number[] {
    const intervals: number[] = [];
    for (const [name, staple] of staples) {
      const previous = this.lastThisUpdate.get(name);
      if (previous !== undefined && staple.thisUpdate > previous) {
        intervals.push((staple.thisUpdate - previous) / 1000);
        this.refreshes++;
      }
      this.lastThisUpdate.set(name, staple.thisUpdate);
    }
    return intervals;
  }

  private async metrics(): Promise<string> {
    return (await request(this.sources.metricsUrl)).body.text();
  }

  /** VmRSS of the controller process (what a container's memory limit counts). */
  private async rssMiB(): Promise<number> {
    const status = await readFile(`/proc/${String(this.sources.controllerPid)}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0") / 1024;
  }
}

/** A companion's staple dates, if it holds a staple and both dates (DESIGN.md, "Companion Secret"). */
function stapleOf(secret: V1Secret): Staple | undefined {
  const annotations = secret.metadata?.annotations ?? {};
  const thisUpdate = Date.parse(annotations[ANNOTATION.thisUpdate] ?? "");
  const nextUpdate = Date.parse(annotations[ANNOTATION.nextUpdate] ?? "");
  const hasStaple = (secret.data?.["tls.ocsp"] ?? "") !== "";
  return hasStaple && Number.isFinite(thisUpdate) && Number.isFinite(nextUpdate) && nextUpdate > thisUpdate ? { thisUpdate, nextUpdate } : undefined;
}
