/**
 * The sum of a series in Prometheus text exposition (a /metrics body) over
 * the samples whose labels include `labels`; 0 when there are none (a counter
 * not yet incremented is not exported):
 * `sumSeries(text, "ocsp_stapler_watch_ends_total", { end: "gone" })`.
 */
export function sumSeries(text: string, name: string, labels: Record<string, string> = {}): number {
  return matchingSamples(text, name, labels).reduce((sum, value) => sum + value, 0);
}

/** The values of the samples of a series whose labels include `labels`: empty when none is exported (unlike sumSeries' 0). */
export function matchingSamples(text: string, name: string, labels: Record<string, string> = {}): number[] {
  const values: number[] = [];
  for (const line of text.split("\n")) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample?.[1] !== name) continue;
    const found = new Map([...(sample[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]));
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value)) values.push(Number(sample[3]));
  }
  return values;
}
