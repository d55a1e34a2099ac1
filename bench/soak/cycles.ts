import { ascending, percentile, slope } from "./percentile.ts";
import type { Sample, WriteKind } from "./sampler.ts";

/** One row of the soak's table: the warm-up, or one refresh cycle of the steady state. */
export interface CycleRow {
  readonly label: string;
  /** Seconds since the controller started. */
  readonly from: number;
  readonly to: number;
  /** The worst moment in the row: the highest p50, p99 and max staple age (share of validity). */
  readonly ageP50: number;
  readonly ageP99: number;
  readonly ageMax: number;
  readonly minLeftS: number;
  readonly missingMax: number;
  readonly expired: number;
  readonly caPerCert: number;
  readonly writes: Readonly<Record<WriteKind, number>>;
  readonly fetchFailures: number;
  readonly rssMiB: number;
  /** The lowest V8 heap use sampled in the row: close to the live heap after a collection, so a leak shows as a rising floor. */
  readonly heapLowMiB: number;
}

/** The whole steady state (after the warm-up) in a few figures. */
export interface SoakSummary {
  readonly cycles: number;
  readonly samples: number;
  readonly ageP50Median: number;
  readonly ageP50Max: number;
  readonly ageP99Max: number;
  readonly ageMax: number;
  readonly minLeftS: number;
  readonly expiredSamples: number;
  readonly expiredNames: readonly string[];
  readonly missingMax: number;
  readonly caPerCertPerCycle: number;
  readonly caPerRefresh: number;
  readonly refreshes: number;
  readonly refreshIntervalP50S: number;
  readonly refreshIntervalMaxS: number;
  readonly writesPerCycle: Readonly<Record<WriteKind, number>>;
  readonly fetchFailures: number;
  readonly rssFirstMiB: number;
  readonly rssLastMiB: number;
  readonly rssPeakMiB: number;
  readonly rssSlopeMiBPerHour: number;
  /** Mean of the rows' lowest heap use, over the first and the last five cycles. */
  readonly heapLowFirstMiB: number;
  readonly heapLowLastMiB: number;
}

/**
 * Cuts the samples into the warm-up (controller start until every Secret
 * has a staple) and refresh cycles of `cycleS` seconds after it. Counters
 * are differences between the last samples of consecutive rows.
 */
export function cycleRows(samples: readonly Sample[], warmUpEnd: number, cycleS: number, selected: number): CycleRow[] {
  const rows: CycleRow[] = [];
  let previous: Sample | undefined;
  const bounds = [{ label: "warm-up", from: 0, to: warmUpEnd }];
  const last = samples.at(-1)?.t ?? 0;
  // Whole cycles: the last sample lands a moment past the last boundary, and belongs to the last cycle.
  const cycles = Math.round((last - warmUpEnd) / cycleS);
  for (let k = 0; k < cycles; k++) {
    bounds.push({ label: String(k + 1), from: warmUpEnd + k * cycleS, to: k === cycles - 1 ? last : warmUpEnd + (k + 1) * cycleS });
  }
  for (const bound of bounds) {
    const inRow = samples.filter((sample) => sample.t > bound.from && sample.t <= bound.to);
    const end = inRow.at(-1);
    if (end === undefined) continue;
    rows.push(row(bound, inRow, end, previous, selected));
    previous = end;
  }
  return rows;
}

function row(bound: { label: string; from: number; to: number }, inRow: readonly Sample[], end: Sample, previous: Sample | undefined, selected: number): CycleRow {
  const delta = (read: (sample: Sample) => number): number => read(end) - (previous === undefined ? 0 : read(previous));
  return {
    ...bound,
    ageP50: Math.max(...inRow.map((sample) => sample.age?.p50 ?? 0)),
    ageP99: Math.max(...inRow.map((sample) => sample.age?.p99 ?? 0)),
    ageMax: Math.max(...inRow.map((sample) => sample.age?.max ?? 0)),
    minLeftS: Math.min(...inRow.map((sample) => sample.minLeftS ?? Infinity)),
    missingMax: Math.max(...inRow.map((sample) => sample.missing)),
    expired: new Set(inRow.flatMap((sample) => sample.expired)).size,
    caPerCert: delta((sample) => sample.caRequests) / selected,
    writes: { companion: delta((s) => s.writes.companion), status: delta((s) => s.writes.status), event: delta((s) => s.writes.event), delete: delta((s) => s.writes.delete) },
    fetchFailures: delta((sample) => sample.fetchFailures),
    rssMiB: end.rssMiB,
    heapLowMiB: Math.min(...inRow.map((sample) => sample.heapMiB)),
  };
}

/** Summarises the steady state: every sample after the warm-up, and the counters over it. */
export function summarise(samples: readonly Sample[], warmUpEnd: number, cycleS: number, selected: number): SoakSummary {
  const steady = samples.filter((sample) => sample.t > warmUpEnd);
  const start = samples.filter((sample) => sample.t <= warmUpEnd).at(-1) ?? samples[0];
  const end = steady.at(-1) ?? start;
  if (start === undefined || end === undefined) throw new Error("the soak took no samples");
  const cycles = (end.t - start.t) / cycleS;
  const delta = (read: (sample: Sample) => number): number => read(end) - read(start);
  const intervals = ascending(steady.flatMap((sample) => sample.refreshIntervalsS));
  const refreshes = delta((sample) => sample.refreshes);
  const perCycle = (read: (sample: Sample) => number): number => (cycles > 0 ? delta(read) / cycles : 0);
  const hours = (sample: Sample): number => sample.t / 3600;
  const steadyRows = cycleRows(samples, warmUpEnd, cycleS, selected).filter((row) => row.label !== "warm-up");
  return {
    cycles,
    samples: steady.length,
    ageP50Median: percentile(ascending(steady.map((sample) => sample.age?.p50 ?? 0)), 50) ?? 0,
    ageP50Max: Math.max(0, ...steady.map((sample) => sample.age?.p50 ?? 0)),
    ageP99Max: Math.max(0, ...steady.map((sample) => sample.age?.p99 ?? 0)),
    ageMax: Math.max(0, ...steady.map((sample) => sample.age?.max ?? 0)),
    minLeftS: Math.min(...steady.map((sample) => sample.minLeftS ?? Infinity)),
    expiredSamples: steady.filter((sample) => sample.expired.length > 0).length,
    expiredNames: [...new Set(samples.flatMap((sample) => sample.expired))],
    missingMax: Math.max(0, ...steady.map((sample) => sample.missing)),
    caPerCertPerCycle: cycles > 0 ? delta((sample) => sample.caRequests) / selected / cycles : 0,
    caPerRefresh: refreshes > 0 ? delta((sample) => sample.caRequests) / refreshes : 0,
    refreshes,
    refreshIntervalP50S: percentile(intervals, 50) ?? 0,
    refreshIntervalMaxS: intervals.at(-1) ?? 0,
    writesPerCycle: { companion: perCycle((s) => s.writes.companion), status: perCycle((s) => s.writes.status), event: perCycle((s) => s.writes.event), delete: perCycle((s) => s.writes.delete) },
    fetchFailures: delta((sample) => sample.fetchFailures),
    rssFirstMiB: start.rssMiB,
    rssLastMiB: end.rssMiB,
    rssPeakMiB: Math.max(...samples.map((sample) => sample.rssMiB)),
    rssSlopeMiBPerHour: slope(steady.map((sample) => ({ x: hours(sample), y: sample.rssMiB }))),
    heapLowFirstMiB: mean(steadyRows.slice(0, 5).map((row) => row.heapLowMiB)),
    heapLowLastMiB: mean(steadyRows.slice(-5).map((row) => row.heapLowMiB)),
  };
}

function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;
}
