/** Epoch milliseconds as RFC 3339 without fractions, as Kubernetes writes times (metav1.Time). */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
