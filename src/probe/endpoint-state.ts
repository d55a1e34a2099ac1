/**
 * What one probe of an endpoint found, worst first in the order status lists
 * them (judge-endpoint.ts decides; the CRD's status.endpoints[].state).
 */
export const ENDPOINT_STATES = ["Unreachable", "CertificateMismatch", "NoStaple", "InvalidStaple", "OldStaple", "Pending", "Served"] as const;
export type EndpointState = (typeof ENDPOINT_STATES)[number];

/** How bad a state is: lower is worse (its place in ENDPOINT_STATES). */
export function stateRank(state: EndpointState): number {
  return ENDPOINT_STATES.indexOf(state);
}

/** One probed endpoint as the metrics see it, read at scrape time; ages computed then. */
export interface EndpointSample {
  readonly namespace: string;
  readonly config: string;
  /** The address, with "/serverName" when one is sent: two names on one address are two endpoints. */
  readonly endpoint: string;
  /** The TLS Secret compared with; "" when none (the served certificate is no selected Secret's). */
  readonly secret: string;
  readonly state: EndpointState;
  /** A TLS handshake completed. The other fields are absent when not (nothing was seen). */
  readonly reachable: boolean;
  /** A staple was served that verifies against the served chain and has not expired (Served or OldStaple). */
  readonly stapleServed?: boolean;
  /** Now minus the served staple's thisUpdate. */
  readonly stapleAgeSeconds?: number;
  /** The stored staple's thisUpdate minus the served one's, when the served one is older; else 0. */
  readonly behindSeconds?: number;
  /** The served leaf is the Secret's tls.crt leaf. */
  readonly certificateMatches?: boolean;
}
