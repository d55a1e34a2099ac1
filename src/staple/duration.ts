const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/**
 * Parses a Go-style duration as the CRD accepts it ("5m", "1h30m", "1.5s",
 * "250ms") into milliseconds. The CRD's pattern already refuses anything
 * else; this refuses it again, because a wrong interval would hammer a CA.
 */
export function parseDuration(text: string): number {
  if (!DURATION.test(text)) throw new RangeError(`"${text}" is not a duration such as 30s, 5m or 1h30m`);
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) total += Number(amount) * (UNIT_MS[unit ?? ""] ?? Number.NaN);
  return total;
}
