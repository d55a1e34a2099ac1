/**
 * The sum of a series in Prometheus text exposition (a /metrics body) over
 * the samples whose labels include `labels`; 0 when there are none (a counter
 * not yet incremented is not exported):
 * `sumSeries(text, "ocsp_stapler_watch_ends_total", { end: "gone" })`.
 */
export function sumSeries(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (sample?.[1] !== name) continue;
    const found = new Map([...(sample[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((pair) => [pair[1], pair[2]]));
    if (Object.entries(labels).every(([key, value]) => found.get(key) === value)) sum += Number(sample[3]);
  }
  return sum;
}
