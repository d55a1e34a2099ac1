/**
 * Reads Prometheus text exposition (the controller's /metrics) the way the
 * benchmarks need it: one series by exact labels, or a family summed over the
 * series whose labels pass a test. Enough for counters and gauges; a missing
 * series reads as 0 (a counter not yet incremented is not exported).
 */
export function metric(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name}${labels === "" ? " " : `{${labels}} `}`));
  return Number(line?.split(" ").at(-1) ?? "0");
}

/** The sum of every series of `name` whose label text (`a="x",b="y"`) passes `keep`. */
export function metricSum(text: string, name: string, keep: (labels: string) => boolean = () => true): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = new RegExp(`^${name}(?:\\{(.*)\\})? (\\S+)$`).exec(line);
    if (match !== null && keep(match[1] ?? "")) sum += Number(match[2]);
  }
  return sum;
}
