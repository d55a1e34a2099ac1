import { Resvg } from "@resvg/resvg-js";
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import type { Field } from "vega-lite/types_unstable/channeldef.js";
import type { LayerSpec } from "vega-lite/types_unstable/spec/layer.js";
import type { CycleRow } from "./cycles.ts";
import type { SoakSetup } from "./report.ts";
import type { Sample } from "./sampler.ts";

const WIDTH = 900;
const LEGEND = { orient: "top", labelLimit: 400, symbolStrokeWidth: 2 } as const;
const perCycleSeries = ["CA requests per certificate", "companion writes per certificate", "Events per certificate", "status writes per certificate"];
const minutes = (seconds: number): number => Math.round((seconds / 60) * 1000) / 1000;

/**
 * The soak as a PNG, drawn by Vega-Lite (compiled to Vega, rendered
 * headless to SVG, rasterised by resvg): staple ages and the least time
 * left against the validity, the controller's memory, and CA requests and
 * companion writes per certificate for each cycle, over one time axis.
 */
export async function plotSoak(samples: readonly Sample[], rows: readonly CycleRow[], setup: SoakSetup): Promise<Buffer> {
  const domain = [0, minutes(samples.at(-1)?.t ?? 0)];
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: { text: `ocsp-stapler soak: ${setup.selected.toLocaleString("en-US")} Secrets, responses valid ${String(setup.validityS / 60)} min, refresh at ${String(setup.fraction)}`, subtitle: `started ${setup.startedAt.toISOString()}; the dashed line marks the end of the warm-up (every Secret stapled)` },
    config: { font: "DejaVu Sans", view: { stroke: null } },
    resolve: { scale: { color: "independent", strokeDash: "independent", shape: "independent" } },
    vconcat: [agePanel(samples, setup, domain), memoryPanel(samples, setup, domain), perCyclePanel(rows, setup, domain)],
  };
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  const svg = await view.toSVG();
  view.finalize();
  return new Resvg(svg, { background: "white", fitTo: { mode: "zoom", value: 1.5 }, font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" } }).render().asPng();
}

type Panel = LayerSpec<Field>;
type Layer = Panel["layer"][number];

/** The x axis every panel shares: minutes since the controller started. */
function xAxis(domain: number[]): { field: string; type: "quantitative"; title: string; scale: { domain: number[]; nice: false } } {
  return { field: "minute", type: "quantitative", title: "minutes since the controller started", scale: { domain, nice: false } };
}

/** A horizontal reference line with its label at the right edge (clear of the warm-up line), above it or (`below`) under it. */
function reference(y: number, label: string, color: string, domain: number[], below = false): Layer[] {
  const data = { values: [{ y, label }] };
  return [
    { data, mark: { type: "rule", color, strokeWidth: 1.5 }, encoding: { y: { field: "y", type: "quantitative" } } },
    { data, mark: { type: "text", color, align: "right", baseline: below ? "top" : "bottom", dx: -4, dy: below ? 3 : -2 }, encoding: { x: { datum: domain[1] ?? 0, type: "quantitative" }, y: { field: "y", type: "quantitative" }, text: { field: "label" } } },
  ];
}

function warmUpLine(setup: SoakSetup): Layer {
  return { data: { values: [{ minute: minutes(setup.warmUpS) }] }, mark: { type: "rule", color: "#888", strokeDash: [4, 4] }, encoding: { x: { field: "minute", type: "quantitative" } } };
}

function agePanel(samples: readonly Sample[], setup: SoakSetup, domain: number[]): Panel {
  const series = ["age p50", "age p99", "age max", "least time left"];
  const values = samples.flatMap((sample) => sample.age === undefined ? [] : [
    { minute: minutes(sample.t), series: "age p50", percent: sample.age.p50 * 100 },
    { minute: minutes(sample.t), series: "age p99", percent: sample.age.p99 * 100 },
    { minute: minutes(sample.t), series: "age max", percent: sample.age.max * 100 },
    { minute: minutes(sample.t), series: "least time left", percent: ((sample.minLeftS ?? 0) / setup.validityS) * 100 },
  ]);
  return {
    width: WIDTH, height: 340,
    title: "Staples in the companion Secrets: age (now − thisUpdate) and the least time left (nextUpdate − now), % of validity",
    layer: [
      ...reference(100, "validity: a staple this old has expired", "#d62728", domain),
      ...reference(setup.fraction * 100, `refresh due (fraction ${String(setup.fraction)})`, "#777", domain, true),
      warmUpLine(setup),
      {
        data: { values }, mark: { type: "line", strokeWidth: 1.5 },
        encoding: {
          x: xAxis(domain),
          y: { field: "percent", type: "quantitative", title: "% of validity", scale: { domain: [0, 110] } },
          // Same field, same legend settings: Vega-Lite merges the two into one legend.
          color: { field: "series", type: "nominal", title: null, scale: { domain: series, range: ["#1f77b4", "#ff7f0e", "#9467bd", "#2ca02c"] }, legend: LEGEND },
          strokeDash: { field: "series", type: "nominal", title: null, scale: { domain: series, range: [[1, 0], [1, 0], [1, 0], [6, 3]] }, legend: LEGEND },
        },
      },
    ],
  };
}

function memoryPanel(samples: readonly Sample[], setup: SoakSetup, domain: number[]): Panel {
  const values = samples.flatMap((sample) => [
    { minute: minutes(sample.t), series: "RSS (VmRSS)", mib: sample.rssMiB },
    { minute: minutes(sample.t), series: "V8 heap used", mib: sample.heapMiB },
  ]);
  return {
    width: WIDTH, height: 200, title: "Controller process memory",
    layer: [
      warmUpLine(setup),
      {
        data: { values }, mark: { type: "line", strokeWidth: 1.5 },
        encoding: {
          x: xAxis(domain),
          y: { field: "mib", type: "quantitative", title: "MiB", scale: { zero: true } },
          color: { field: "series", type: "nominal", title: null, scale: { range: ["#8c564b", "#17becf"] }, legend: LEGEND },
        },
      },
    ],
  };
}

function perCyclePanel(rows: readonly CycleRow[], setup: SoakSetup, domain: number[]): Panel {
  const values = rows.filter((row) => row.label !== "warm-up").flatMap((row) => [
    { minute: minutes(row.to), series: "CA requests per certificate", perCert: row.caPerCert },
    { minute: minutes(row.to), series: "companion writes per certificate", perCert: row.writes.companion / setup.selected },
    { minute: minutes(row.to), series: "Events per certificate", perCert: row.writes.event / setup.selected },
    { minute: minutes(row.to), series: "status writes per certificate", perCert: row.writes.status / setup.selected },
  ]);
  return {
    width: WIDTH, height: 160, title: `CA requests and API writes per refresh cycle (${String(setup.cycleS)} s), at each cycle's end`,
    layer: [
      ...reference(1, "one per certificate per cycle", "#999", domain, true),
      warmUpLine(setup),
      {
        // Hollow squares and circles, so two series at the same value both show.
        data: { values }, mark: { type: "line", point: { size: 70, filled: false }, strokeWidth: 1.5 },
        encoding: {
          x: xAxis(domain),
          y: { field: "perCert", type: "quantitative", title: "per certificate", scale: { zero: true } },
          color: { field: "series", type: "nominal", title: null, scale: { domain: perCycleSeries, range: ["#e377c2", "#555", "#bcbd22", "#1f77b4"] }, legend: LEGEND },
          shape: { field: "series", type: "nominal", title: null, scale: { domain: perCycleSeries, range: ["square", "circle", "triangle-up", "diamond"] }, legend: LEGEND },
          strokeDash: { field: "series", type: "nominal", title: null, scale: { domain: perCycleSeries, range: [[1, 0], [5, 3], [1, 0], [1, 0]] }, legend: LEGEND },
        },
      },
    ],
  };
}
