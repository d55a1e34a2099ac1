import type { CertStatus } from "../ocsp/cert-status.ts";
import { isOcspError, messageOf } from "../ocsp/errors.ts";
import type { OcspErrorCode } from "../ocsp/error-codes.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";

/**
 * The one result shape `fetch`, `inspect` and `check` print (DESIGN.md's
 * `--json` contract). Field names are stable; new fields may be added.
 */
export type Report = SuccessReport | FailureReport;

export interface SuccessReport {
  readonly ok: true;
  readonly verified: boolean;
  readonly certStatus: CertStatus["kind"];
  readonly revokedAt?: string;
  readonly revocationReason?: string;
  readonly serial: string;
  readonly thisUpdate: string;
  readonly nextUpdate?: string;
  readonly producedAt: string;
  /** When the staple stops being servable (verified reports only). */
  readonly usableUntil?: string;
  readonly responder?: string;
  readonly signer?: { readonly kind: string; readonly subject: string };
  readonly [extra: string]: unknown;
}

export interface FailureReport {
  readonly ok: false;
  readonly error: { readonly code: OcspErrorCode | "Internal"; readonly message: string };
}

export function statusFields(status: CertStatus): Pick<SuccessReport, "certStatus" | "revokedAt" | "revocationReason"> {
  if (status.kind !== "revoked") return { certStatus: status.kind };
  return { certStatus: "revoked", revokedAt: status.revokedAt.toISOString(), ...(status.reason === undefined ? {} : { revocationReason: status.reason }) };
}

export function verifiedReport(response: VerifiedResponse, extra: Record<string, unknown> = {}): SuccessReport {
  return {
    ok: true,
    verified: true,
    ...statusFields(response.certStatus),
    serial: response.serial,
    thisUpdate: response.thisUpdate.toISOString(),
    ...(response.nextUpdate === undefined ? {} : { nextUpdate: response.nextUpdate.toISOString() }),
    producedAt: response.producedAt.toISOString(),
    usableUntil: response.usableUntil.toISOString(),
    signer: { kind: response.signer.kind, subject: response.signer.subject },
    ...extra,
  };
}

/** Errors we threw on purpose keep their code; anything else is a bug, reported as `Internal`. */
export function failureReport(error: unknown): FailureReport {
  if (isOcspError(error)) return { ok: false, error: { code: error.code, message: error.message } };
  return { ok: false, error: { code: "Internal", message: messageOf(error) } };
}

/** A short, aligned summary for people. */
export function renderText(report: Report, now: Date): string {
  if (!report.ok) return `error: ${report.error.code}: ${report.error.message}\n`;
  const rows: [string, string | undefined][] = [
    ["status", report.certStatus + (report.revokedAt === undefined ? "" : ` since ${report.revokedAt}${report.revocationReason === undefined ? "" : ` (${report.revocationReason})`}`)],
    ["verified", report.verified ? "yes" : "no (no certificate given: decoded only)"],
    ["serial", report.serial],
    ["responder", report.responder],
    ["signed by", report.signer === undefined ? undefined : `${report.signer.kind === "issuer" ? "the issuer" : "delegated responder"} ${report.signer.subject}`],
    ["produced at", report.producedAt],
    ["this update", report.thisUpdate],
    ["next update", report.nextUpdate ?? "(none)"],
    ["usable until", report.usableUntil === undefined ? undefined : `${report.usableUntil} (${timeLeft(new Date(report.usableUntil), now)})`],
  ];
  for (const [key, value] of Object.entries(report)) {
    if (typeof value === "string" && ["out", "served"].includes(key)) rows.push([key === "out" ? "written to" : "served by", value]);
  }
  if (typeof report.staplesSeen === "number") rows.push(["staples seen", staplesSeenText(report.staplesSeen, report.onlyLeafVisible === true)]);
  return rows.filter((row): row is [string, string] => row[1] !== undefined).map(([key, value]) => `${key.padEnd(13)}${value}`).join("\n") + "\n";
}

/** `check`: how many staples came back, and plainly that only the leaf's can be seen when that is so. */
function staplesSeenText(count: number, onlyLeafVisible: boolean): string {
  return onlyLeafVisible ? `${count} (the leaf's; Node's TLS shows no intermediate's staple, so those cannot be checked)` : String(count);
}

/** "3d 4h left" / "expired 2h ago": how long a staple has, at a glance. */
export function timeLeft(until: Date, now: Date): string {
  const ms = until.getTime() - now.getTime();
  const text = formatDuration(Math.abs(ms));
  return ms >= 0 ? `${text} left` : `expired ${text} ago`;
}

function formatDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return `${days}d ${hours}h`;
  if (hours > 0) return `${hours}h ${minutes % 60}m`;
  return `${minutes}m`;
}
