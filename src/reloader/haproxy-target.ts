import { messageOf } from "../ocsp/errors.ts";
import { setOcspResponse } from "./haproxy-runtime.ts";
import type { ApplyReport, ChangeFailure, ServerTarget, StapleChange } from "./server-target.ts";

/**
 * HAProxy: each verified staple goes over the runtime API (`set ssl
 * ocsp-response`), so the running process serves it from the next handshake
 * on: no reload, no dropped connection. HAProxy finds the certificate by
 * the response's CertID; the loop has already verified it against ours.
 */
export class HaproxyTarget implements ServerTarget {
  readonly server = "haproxy";
  readonly canWithdraw = false;
  private readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** What HAProxy holds is unknown at start (it loaded `<crt>.ocsp` itself): push the mounted staple once. */
  previouslyInstalled(): undefined {
    return undefined;
  }

  async apply(changes: readonly StapleChange[]): Promise<ApplyReport> {
    const applied: StapleChange[] = [];
    const failed: ChangeFailure[] = [];
    for (const change of changes) {
      if (change.kind === "withdraw") continue;
      try {
        // HAProxy names a certificate by the path in its configuration: the same as --cert.
        await setOcspResponse(this.socketPath, change.response.der, change.pair.certPath);
        applied.push(change);
      } catch (error) {
        failed.push({ change, reason: "HaproxyPushFailed", message: messageOf(error) });
      }
    }
    return { applied, failed };
  }
}
