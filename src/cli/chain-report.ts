import type { ChainElementResult } from "../ocsp/chain-result.ts";
import type { OcspErrorCode } from "../ocsp/error-codes.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import { EXIT, type ExitStatus } from "./exit-status.ts";
import { renderText, verifiedReport, type SuccessReport } from "./report.ts";

/**
 * What `fetch --chain full` and `inspect BUNDLE` print: one entry per element
 * of the chain, leaf first, each in the shape a single staple's report has
 * (plus which element it is), so a script reads an element as it reads
 * `fetch`'s object. `ok` is true when every element verified.
 */
export interface ChainReport {
  readonly ok: boolean;
  readonly chain: "full";
  readonly elements: readonly ElementReport[];
  /** The bundle file, when one was written. */
  readonly out?: string;
  /** Why the bundle asked for was not written. */
  readonly outSkipped?: string;
  readonly [extra: string]: unknown;
}

/**
 * Which element: its position (0 the leaf), its role, and the certificate's
 * subject and serial (unknown to `inspect` without `--cert`: a response
 * then tells only its own serial).
 */
export interface ElementIdentityReport {
  readonly index: number;
  readonly role: string;
  readonly subject?: string;
  readonly serial?: string;
}

export type ElementReport =
  | (ElementIdentityReport & SuccessReport)
  | (ElementIdentityReport & { readonly ok: false; readonly error: { readonly code: OcspErrorCode; readonly message: string } });

export function isChainReport(report: object): report is ChainReport {
  return "elements" in report && Array.isArray(report.elements);
}

/**
 * An element's entry. `extra` adds fields to a verified one (responder,
 * issuerSource, the file it was written to).
 */
export function elementReport<S>(result: ChainElementResult<S>, responseOf: (staple: S) => VerifiedResponse, extra: (staple: S) => Record<string, unknown> = () => ({})): ElementReport {
  const identity = { index: result.index, role: result.role, subject: result.certificate.subject, serial: result.certificate.serial };
  if (!result.ok) return { ...identity, ok: false, error: { code: result.error.code, message: result.error.message } };
  return { ...identity, ...verifiedReport(responseOf(result.staple), extra(result.staple)) };
}

/**
 * The chain's exit status, with the single staple's meanings: 0 only when
 * every element is a verified `good`; 2 when any element failed; otherwise
 * (all verified, some `revoked` or `unknown`) 1.
 */
export function exitForElements(elements: readonly ({ readonly ok: false } | { readonly ok: true; readonly certStatus: string })[]): ExitStatus {
  if (elements.some((element) => !element.ok)) return EXIT.failure;
  return elements.every((element) => element.ok && element.certStatus === "good") ? EXIT.good : EXIT.notGood;
}

/** The summary for people: a line per element, then its single-staple summary, indented. */
export function renderChainText(report: ChainReport, now: Date): string {
  const good = report.elements.filter((element) => element.ok && element.certStatus === "good").length;
  const failed = report.elements.filter((element) => !element.ok).length;
  const header = `chain        ${report.elements.length} certificate(s): ${good} good, ${report.elements.length - good - failed} revoked or unknown, ${failed} failed\n`;
  const sections = report.elements.map((element) => {
    const title = `[${element.index}] ${element.role} ${element.subject ?? "(no certificate given)"}\n`;
    const { index: _index, role: _role, subject: _subject, ...single } = element;
    const body = single.ok ? renderText(single, now) : `error        ${single.error.code}: ${single.error.message}\n`;
    return title + body.replace(/^(?=.)/gm, "  ");
  });
  const footer = typeof report.out === "string" ? `bundle       written to ${report.out}\n` : report.outSkipped !== undefined ? `bundle       not written: ${report.outSkipped}\n` : "";
  return header + sections.join("") + footer;
}
