/**
 * A StapleConfig's `spec.refresh`, in milliseconds. Defaults match the CRD's.
 */
export interface RefreshPolicy {
  /** Refresh after this share of thisUpdate..usableUntil, in (0, 1). */
  readonly fraction: number;
  /** Never refresh one staple more often than this. */
  readonly minIntervalMs: number;
  readonly retry: { readonly initialMs: number; readonly maxMs: number };
}

export const DEFAULT_REFRESH_POLICY: RefreshPolicy = {
  fraction: 0.5,
  minIntervalMs: 5 * 60_000,
  retry: { initialMs: 10_000, maxMs: 30 * 60_000 },
};

/** A source of randomness in [0, 1), injected so jitter is deterministic in tests. */
export type Random = () => number;
