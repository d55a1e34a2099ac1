import type { CertStatus } from "./cert-status.ts";
import type { HashName } from "./oids.ts";

/**
 * A response that passed every check in `verifyResponse`: the only kind of
 * response the rest of the system may staple.
 */
export interface VerifiedResponse {
  /** Exactly the bytes the responder signed: what gets stapled. */
  readonly der: Uint8Array;
  readonly certStatus: CertStatus;
  /** The subject certificate's serial, lowercase hex. */
  readonly serial: string;
  readonly certIdHash: HashName;
  readonly producedAt: Date;
  readonly thisUpdate: Date;
  readonly nextUpdate?: Date;
  /**
   * How many SingleResponses the response carries, and the index of the
   * subject's: HAProxy and Envoy refuse a response with several, nghttpx and
   * GnuTLS read only the first (src/staple/consumer-profile.ts).
   */
  readonly singleResponses: number;
  readonly subjectIndex: number;
  /**
   * When this staple stops being servable: the earliest of nextUpdate (or a
   * short fixed window when the responder gave none), a delegated signer's
   * notAfter and the subject certificate's notAfter.
   */
  readonly usableUntil: Date;
  readonly signer: { readonly kind: "issuer" | "delegated"; readonly subject: string; readonly notAfter: Date };
}
