/**
 * One side of a printed comparison: Apache's own stapling (mod_ssl,
 * `SSLStaplingForceURL`) pointed at a responder URL (a CA's responder, or
 * `ocsp-stapler responder` in the cluster), with N worker processes and K
 * handshakes after start. A counting proxy sits in front of the URL, so the
 * count holds whatever answers behind it. Measures; asserts nothing.
 */
import { startApache } from "./apache.ts";
import { startCountingProxy } from "./counting-proxy.ts";
import { handshake, heldHandshakes, stapleStatus, type Handshake } from "./stapled-handshakes.ts";

export interface ApacheSideBySideOptions {
  /** Where mod_ssl fetches staples (`SSLStaplingForceURL`), through the counting proxy. */
  readonly responderUrl: string;
  /** The leaf, then its intermediates (the issuer must be among them, or in caCertPath). */
  readonly certPath: string;
  readonly keyPath: string;
  readonly caCertPath?: string;
  /** Prefork processes (N). */
  readonly processes: number;
  /** Handshakes after start (K), each on a fresh connection. */
  readonly handshakes: number;
}

export interface ApacheSideBySideResult {
  /** OCSP requests that reached the responder URL during the run. */
  readonly requestsSeenByResponder: number;
  /** Whether the very first handshake after start carried a successful staple. */
  readonly firstHandshakeStapled: boolean;
  /**
   * From the first handshake's start to the end of the first handshake (or
   * round of held handshakes) with a successful staple; undefined if none had one.
   */
  readonly firstStapledHandshakeMs: number | undefined;
  /** How many of the K handshakes carried a successful staple. */
  readonly stapledHandshakes: number;
  /** One letter per handshake, in order: S successful staple, T tryLater, . none, ? another staple. */
  readonly pattern: string;
}

/**
 * Starts Apache with `processes` processes, makes the first handshake alone,
 * then the rest in rounds of `processes` connections held open together (so
 * every round reaches every process), and stops Apache.
 */
export async function apacheSideBySide(options: ApacheSideBySideOptions): Promise<ApacheSideBySideResult> {
  const proxy = await startCountingProxy(options.responderUrl);
  try {
    const apache = await startApache({
      certPath: options.certPath,
      keyPath: options.keyPath,
      ...(options.caCertPath === undefined ? {} : { caCertPath: options.caCertPath }),
      processes: options.processes,
      stapling: { forceUrl: proxy.url },
    });
    const results: Handshake[] = [];
    const started = Date.now();
    let firstStapledAt: number | undefined;
    const record = (batch: readonly Handshake[]): void => {
      results.push(...batch);
      if (firstStapledAt === undefined && batch.some((one) => stapleStatus(one.staple) === "successful")) firstStapledAt = Date.now();
    };
    try {
      if (options.handshakes > 0) record([await handshake(apache.port)]);
      while (results.length < options.handshakes) {
        const held = await heldHandshakes(apache.port, Math.min(options.processes, options.handshakes - results.length));
        held.close();
        record(held.handshakes);
      }
    } finally {
      await apache.stop();
    }
    const letters = { successful: "S", tryLater: "T", none: ".", other: "?" } as const;
    return {
      requestsSeenByResponder: proxy.requests.length,
      firstHandshakeStapled: stapleStatus(results[0]?.staple) === "successful",
      firstStapledHandshakeMs: firstStapledAt === undefined ? undefined : firstStapledAt - started,
      stapledHandshakes: results.filter((one) => stapleStatus(one.staple) === "successful").length,
      pattern: results.map((one) => letters[stapleStatus(one.staple)]).join(""),
    };
  } finally {
    await proxy.close();
  }
}
