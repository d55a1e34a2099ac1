import type { StapleReason } from "./reasons.ts";

/**
 * What the controller knows about one selected TLS Secret between reconciles:
 * the source of the StapleConfig status entries and of the refresh schedule.
 * One is kept per Secret, so times are epoch milliseconds (a number costs
 * 16 bytes, a Date about 100).
 */
export interface SecretState {
  /** namespace/name of the owning StapleConfig. */
  readonly config: string;
  readonly name: string;
  readonly serial?: string;
  readonly certStatus?: "Good" | "Revoked" | "Unknown";
  readonly thisUpdateMs?: number;
  readonly nextUpdateMs?: number;
  /** When the Secret is looked at next (its refresh, or a retry). */
  readonly nextCheckAtMs?: number;
  /** Name of the Secret holding the staple, when one is in place. */
  readonly staple?: string;
  readonly error?: { readonly code: StapleReason; readonly message: string };
  readonly failures: number;
  /**
   * What the schedule was computed from: the certificate and the config's
   * spec. While it is unchanged, unrelated events never cause an early fetch
   * (backoff holds); when it changes, the Secret is looked at afresh. A short
   * digest (scheduleBasis), as one is kept per Secret.
   */
  readonly basis?: string;
  /** The leaf is must-staple (TLS Feature status_request, RFC 7633). */
  readonly mustStaple?: true;
  /**
   * The leaf names no OCSP responder (no AIA OCSP URL) and the config sets no
   * urlOverride: nothing is fetched; reported, and a failure only for a
   * must-staple leaf (README, "When your CA turns OCSP off").
   */
  readonly noResponder?: true;
  /** Something expected but worth knowing, not a failure (`NoResponderURL` of a leaf that is not must-staple). */
  readonly notice?: { readonly code: StapleReason; readonly message: string };
  /** A StapleExpiring Event was sent during the current failure streak. */
  readonly expiringReported?: boolean;
  /** `chain: Full`: each intermediate's state, in served order (chain-plan.ts); absent for `chain: Leaf`. */
  readonly chain?: readonly ChainElementState[];
  /** `chain: Full`: why the served chain was refused as a whole (too long, a loop): no intermediate is stapled. */
  readonly chainError?: { readonly code: StapleReason; readonly message: string };
}

/** One intermediate of a `chain: Full` Secret: the status entry's `chain` item, and its own schedule. */
export interface ChainElementState {
  readonly subject: string;
  /** The intermediate certificate's serial (hex). */
  readonly serial: string;
  /** Its staple in place answers this; absent when none is in place. */
  readonly certStatus?: "Good" | "Revoked" | "Unknown";
  readonly nextUpdateMs?: number;
  readonly error?: { readonly code: StapleReason; readonly message: string };
  /** Expected, not a failure: `NoResponderURL`, the intermediate names no OCSP responder. */
  readonly notice?: { readonly code: StapleReason; readonly message: string };
  readonly failures: number;
  /** When this element wants a refresh or a retry. */
  readonly checkAtMs: number;
}
