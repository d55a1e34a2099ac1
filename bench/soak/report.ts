import type { CycleRow, SoakSummary } from "./cycles.ts";

/** What the run was, for the heading of the table and the plot's title. */
export interface SoakSetup {
  readonly selected: number;
  readonly validityS: number;
  readonly fraction: number;
  readonly cycleS: number;
  readonly sampleS: number;
  readonly fetchRate: string;
  readonly warmUpS: number;
  readonly startedAt: Date;
}

const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;
const fixed = (value: number, digits = 0): string => value.toFixed(digits);
const count = (value: number): string => value.toLocaleString("en-US");

const COLUMNS: { readonly head: string; readonly cell: (row: CycleRow) => string }[] = [
  { head: "cycle", cell: (row) => row.label },
  { head: "min", cell: (row) => `${fixed(row.from / 60, 1)}-${fixed(row.to / 60, 1)}` },
  { head: "age p50", cell: (row) => percent(row.ageP50) },
  { head: "age p99", cell: (row) => percent(row.ageP99) },
  { head: "age max", cell: (row) => percent(row.ageMax) },
  { head: "min left", cell: (row) => (Number.isFinite(row.minLeftS) ? `${fixed(row.minLeftS)} s` : "-") },
  { head: "no staple", cell: (row) => count(row.missingMax) },
  { head: "expired", cell: (row) => (row.expired === 0 ? "0" : `${count(row.expired)} !!`) },
  { head: "CA req/cert", cell: (row) => fixed(row.caPerCert, 2) },
  { head: "companion", cell: (row) => count(row.writes.companion) },
  { head: "status", cell: (row) => count(row.writes.status) },
  { head: "events", cell: (row) => count(row.writes.event) },
  { head: "deletes", cell: (row) => count(row.writes.delete) },
  { head: "fetch fail", cell: (row) => count(row.fetchFailures) },
  { head: "RSS MiB", cell: (row) => fixed(row.rssMiB) },
  { head: "heap low", cell: (row) => fixed(row.heapLowMiB) },
];

/** The per-cycle table: the worst moment of each cycle for the ages, counters as differences. */
export function cycleTable(rows: readonly CycleRow[]): string {
  const cells = [COLUMNS.map((column) => column.head), ...rows.map((row) => COLUMNS.map((column) => column.cell(row)))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((line) => line[i]?.length ?? 0)));
  return cells.map((line) => line.map((cell, i) => (i < 2 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join("  ")).join("\n");
}

export function heading(setup: SoakSetup): string {
  return [
    `ocsp-stapler soak: ${count(setup.selected)} TLS Secrets with distinct certificates, responses valid ${fixed(setup.validityS / 60, 1)} min,`,
    `refresh at ${fixed(setup.fraction, 2)} of validity (a cycle is ${fixed(setup.cycleS)} s), fetch rate cap ${setup.fetchRate}/s, a sample every ${fixed(setup.sampleS)} s.`,
    `Started ${setup.startedAt.toISOString()}, Node ${process.version}; warm-up (controller start until every Secret was stapled) ${fixed(setup.warmUpS, 1)} s.`,
    "Ages are shares of the staple's validity (nextUpdate − thisUpdate) at the worst sampled moment of the cycle; counters are per cycle;",
    "RSS is at the cycle's end, heap low the least V8 heap use sampled in it (MiB).",
  ].join("\n");
}

/** The steady state in name/value lines; an expired staple or a Secret left without one is shouted. */
export function summaryLines(summary: SoakSummary, setup: SoakSetup): string {
  const writes = summary.writesPerCycle;
  const lines: [string, string][] = [
    ["steady state", `${fixed(summary.cycles, 1)} refresh cycles, ${count(summary.samples)} samples`],
    ["staple age p50", `${percent(summary.ageP50Median)} of validity (median moment), ${percent(summary.ageP50Max)} at worst`],
    ["staple age p99", `${percent(summary.ageP99Max)} of validity at worst`],
    ["staple age max", `${percent(summary.ageMax)} of validity at worst`],
    ["min time left", `${fixed(summary.minLeftS)} s on any staple at any moment (${percent(summary.minLeftS / setup.validityS)} of validity)`],
    ["expired staples", summary.expiredNames.length === 0 ? "0 (none seen in any sample)" : `!!! ${count(summary.expiredNames.length)} EXPIRED STAPLES SEEN in ${count(summary.expiredSamples)} samples: ${summary.expiredNames.slice(0, 5).join(", ")}`],
    ["Secrets w/o staple", summary.missingMax === 0 ? "0 after warm-up" : `!!! up to ${count(summary.missingMax)} after warm-up`],
    ["refresh interval", `p50 ${fixed(summary.refreshIntervalP50S, 1)} s, max ${fixed(summary.refreshIntervalMaxS, 1)} s (between successive thisUpdates of one staple; ${count(summary.refreshes)} refreshes seen)`],
    ["CA requests", `${fixed(summary.caPerCertPerCycle, 3)} per certificate per cycle, ${fixed(summary.caPerRefresh, 3)} per refresh seen`],
    ["API writes per cycle", `companion ${fixed(writes.companion, 1)} (${fixed(writes.companion / setup.selected, 3)} per certificate), status ${fixed(writes.status, 1)}, events ${fixed(writes.event, 1)}, deletes ${fixed(writes.delete, 1)}`],
    ["failed fetches", count(summary.fetchFailures)],
    ["controller RSS", `${fixed(summary.rssFirstMiB)} MiB after warm-up, ${fixed(summary.rssLastMiB)} MiB at the end, ${fixed(summary.rssPeakMiB)} MiB peak; trend ${fixed(summary.rssSlopeMiBPerHour, 1)} MiB/h`],
    ["V8 heap used, low", `${fixed(summary.heapLowFirstMiB)} MiB in the first 5 cycles, ${fixed(summary.heapLowLastMiB)} MiB in the last 5 (mean of each cycle's lowest sample: a leak raises it)`],
  ];
  return lines.map(([name, value]) => `${name.padEnd(22)}${value}`).join("\n");
}
