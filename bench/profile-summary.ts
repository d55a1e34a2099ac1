// Summarises a V8 profile written by a bench run, for docs/scale.md:
//   node bench/profile-summary.ts FILE.cpuprofile [TOP]   self time by function
//   node bench/profile-summary.ts FILE.heapsnapshot [TOP] retained-by-type: self size by constructor
// (`--cpu-prof` writes the first, BENCH_HEAP_SNAPSHOT in bench/scale.ts the second.)
import { readFile } from "node:fs/promises";

const [file, topText] = process.argv.slice(2);
if (file === undefined) throw new Error("usage: node bench/profile-summary.ts FILE.cpuprofile|FILE.heapsnapshot [TOP]");
const top = Number(topText ?? "25");
const profile: unknown = JSON.parse(await readFile(file, "utf8"));
const lines = file.endsWith(".heapsnapshot") ? heapTypes(profile as HeapSnapshot) : selfTimes(profile as CpuProfile);
for (const line of lines) console.log(line);

interface CallFrame { functionName: string; url: string; lineNumber: number }
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * Three views of one CPU profile: self time by package (node_modules
 * package, our dist/ folder, Node's internals), time inside each of our own
 * functions including what they call, and self time per function.
 */
function selfTimes(profile: CpuProfile): string[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const self = new Map<string, number>();
  const packages = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    total += delta;
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined) return;
    add(self, where(frame), delta);
    add(packages, packageOf(frame), delta);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const caller = byId.get(at)?.callFrame;
      if (caller === undefined || !caller.url.includes("/dist/")) continue;
      const name = where(caller);
      if (!seen.has(name)) add(inclusive, name, delta);
      seen.add(name);
    }
  });
  const lines = (title: string, map: Map<string, number>) => [title, ...[...map].sort((a, b) => b[1] - a[1]).slice(0, top)
    .map(([name, us]) => `${(us / 1e6).toFixed(2).padStart(7)} s ${(100 * us / total).toFixed(1).padStart(5)}%  ${name}`)];
  return [`total ${(total / 1e6).toFixed(1)} s sampled`, ...lines("\nself time by package", packages), ...lines("\ntotal time in our functions (with their callees)", inclusive), ...lines("\nself time by function", self)];
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

function where(frame: CallFrame): string {
  return `${frame.functionName || "(anonymous)"} ${frame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/dist\//, "dist/")}:${String(frame.lineNumber + 1)}`;
}

function packageOf(frame: CallFrame): string {
  const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)?.[1];
  if (module !== undefined) return module;
  const ours = /\/dist\/([^/]+)\//.exec(frame.url)?.[1];
  if (ours !== undefined) return `dist/${ours}`;
  if (frame.url.startsWith("node:")) return "node internals";
  return frame.functionName === "" ? "(other)" : frame.functionName;
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size per object kind (constructor name for objects, the V8 type otherwise), largest first. */
function heapTypes(snapshot: HeapSnapshot): string[] {
  const fields = snapshot.snapshot.meta.node_fields;
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((field) => fields.indexOf(field)) as [number, number, number];
  const types = snapshot.snapshot.meta.node_types[0];
  const sizes = new Map<string, { bytes: number; count: number }>();
  let total = 0;
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt] ?? 0] ?? "?";
    const name = snapshot.strings[snapshot.nodes[i + nameAt] ?? 0] ?? "?";
    const key = type === "object" || type === "closure" ? `${type} ${name}` : type;
    const size = snapshot.nodes[i + sizeAt] ?? 0;
    total += size;
    const entry = sizes.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += size;
    entry.count++;
    sizes.set(key, entry);
  }
  return [`total ${(total / 1048576).toFixed(1)} MiB in the snapshot`, ...[...sizes].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, top)
    .map(([key, { bytes, count }]) => `${(bytes / 1048576).toFixed(2).padStart(8)} MiB ${count.toLocaleString("en-US").padStart(10)}  ${key}`)];
}
