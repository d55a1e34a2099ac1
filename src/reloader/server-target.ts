import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import type { ReloaderReason } from "../staple/reasons.ts";
import type { StaplePair } from "./staple-pair.ts";

/** One change the loop asks of the server. */
export type StapleChange =
  | { readonly kind: "install"; readonly pair: StaplePair; readonly response: VerifiedResponse }
  | { readonly kind: "withdraw"; readonly pair: StaplePair };

export interface ChangeFailure {
  readonly change: StapleChange;
  readonly reason: ReloaderReason;
  readonly message: string;
}

export interface ApplyReport {
  /** Changes the server now has (or, for an nginx not yet started, will load at start). */
  readonly applied: readonly StapleChange[];
  readonly failed: readonly ChangeFailure[];
  /** Set when nginx was reloaded, or found not running yet. */
  readonly reload?: "reloaded" | "not-running";
}

/** Whether the server still holds the staple the loop handed it. */
export type HeldCheck =
  | { readonly kind: "held" }
  /** It holds another staple or none: it restarted (or was reloaded) and loaded what it found on disk. */
  | { readonly kind: "lost"; readonly detail: string }
  /** It cannot be asked now (not running, restarting); the loop keeps what it believes. */
  | { readonly kind: "unknown"; readonly detail: string };

/**
 * What the loop needs of a server: hand it a batch of changes (applied
 * together, so a burst costs nginx one reload), at start say which staple a
 * previous run left in place, and, where the server can be asked, whether it
 * still holds the one handed over.
 */
export interface ServerTarget {
  readonly server: "nginx" | "haproxy";
  /** Whether a staple can be taken away (nginx: remove the snippet and reload; HAProxy: a certificate transaction). */
  readonly canWithdraw: boolean;
  previouslyInstalled(pair: StaplePair): Uint8Array | undefined;
  apply(changes: readonly StapleChange[]): Promise<ApplyReport>;
  /** Finishes what an earlier batch could not (nginx: a reload before nginx ran); called at every sync. */
  settle?(): Promise<{ readonly ok: boolean; readonly detail: string } | undefined>;
  /**
   * Asked at every sync for each staple the loop believes is in place: a
   * server that keeps staples in memory only (HAProxy) loses them when it
   * restarts, and nothing on the volume changes to say so. "lost" makes the
   * loop hand the mounted staple over again. nginx needs none: it reads the
   * staged files whenever its master starts.
   */
  confirm?(pair: StaplePair, installed: VerifiedResponse): Promise<HeldCheck>;
}
