import type { CertStatus } from "../ocsp/cert-status.ts";

/**
 * The CLI's exit statuses (DESIGN.md): scripts and probes branch on these.
 * 0 only for a verified `good`; 1 for a verified `revoked` or `unknown`;
 * 2 for anything that failed, usage errors included.
 */
export const EXIT = { good: 0, notGood: 1, failure: 2 } as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

export function exitFor(status: CertStatus): ExitStatus {
  return status.kind === "good" ? EXIT.good : EXIT.notGood;
}
