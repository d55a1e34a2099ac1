import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import type { ReloaderReason } from "./reasons.ts";
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

/**
 * What the loop needs of a server: hand it a batch of changes (applied
 * together, so a burst costs nginx one reload) and, at start, say which
 * staple a previous run left in place.
 */
export interface ServerTarget {
  readonly server: "nginx" | "haproxy";
  /** nginx can drop a staple (remove the snippet, reload); HAProxy's runtime API cannot. */
  readonly canWithdraw: boolean;
  previouslyInstalled(pair: StaplePair): Uint8Array | undefined;
  apply(changes: readonly StapleChange[]): Promise<ApplyReport>;
  /** Finishes what an earlier batch could not (nginx: a reload before nginx ran); called at every sync. */
  settle?(): Promise<{ readonly ok: boolean; readonly detail: string } | undefined>;
}
