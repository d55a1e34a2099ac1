import { messageOf } from "../ocsp/errors.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import { certificateWithKey } from "./haproxy-cert-payload.ts";
import { heldStaple } from "./haproxy-held-staple.ts";
import { dropOcspResponse, setOcspResponse } from "./haproxy-runtime.ts";
import type { ApplyReport, ChangeFailure, HeldCheck, ServerTarget, StapleChange } from "./server-target.ts";
import type { StaplePair } from "./staple-pair.ts";

/**
 * HAProxy: each verified staple goes over the runtime API (`set ssl
 * ocsp-response`), so the running process serves it from the next handshake
 * on: no reload, no dropped connection. HAProxy finds the certificate by
 * the response's CertID; the loop has already verified it against ours.
 *
 * HAProxy keeps a pushed staple in memory only: a restarted HAProxy (a new
 * process, a new socket at the same path) serves whatever it loaded from
 * disk, often an older staple or none. No volume event says so, so `confirm`
 * asks HAProxy at every sync (every volume event and every `--interval`)
 * which staple it holds for the certificate; one it lost is pushed again.
 * Asking is two runtime API commands: cheaper than the push it saves, and it
 * also catches a reload or someone else's push, which a pid or a reconnect
 * would not (a container's HAProxy is often pid 1 every time).
 *
 * A staple withdrawn from the volume is taken away by a certificate
 * transaction (see dropOcspResponse), which needs the key beside `--cert`.
 */
export class HaproxyTarget implements ServerTarget {
  readonly server = "haproxy";
  readonly canWithdraw = true;
  private readonly socketPath: string;

  constructor(socketPath: string) {
    this.socketPath = socketPath;
  }

  /** What HAProxy holds is unknown at start (it loaded `<crt>.ocsp` itself): push the mounted staple once. */
  previouslyInstalled(): undefined {
    return undefined;
  }

  async confirm(_pair: StaplePair, installed: VerifiedResponse): Promise<HeldCheck> {
    let held: Awaited<ReturnType<typeof heldStaple>>;
    try {
      held = await heldStaple(this.socketPath, installed.serial);
    } catch (error) {
      return { kind: "unknown", detail: messageOf(error) };
    }
    if (held === undefined) return { kind: "lost", detail: `HAProxy holds no staple for serial ${installed.serial}` };
    // OpenSSL prints whole seconds. A newer staple than ours (someone else's push) is left alone:
    // a staple is never replaced by an older one.
    if (held.thisUpdate.getTime() >= Math.floor(installed.thisUpdate.getTime() / 1000) * 1000) return { kind: "held" };
    return { kind: "lost", detail: `HAProxy holds an older staple (thisUpdate ${held.thisUpdate.toISOString()}) than ours (${installed.thisUpdate.toISOString()})` };
  }

  async apply(changes: readonly StapleChange[]): Promise<ApplyReport> {
    const applied: StapleChange[] = [];
    const failed: ChangeFailure[] = [];
    for (const change of changes) {
      // HAProxy names a certificate by the path in its configuration: the same as --cert.
      const crtPath = change.pair.certPath;
      try {
        if (change.kind === "install") await setOcspResponse(this.socketPath, change.response.der, crtPath);
        else await dropOcspResponse(this.socketPath, crtPath, certificateWithKey(crtPath));
        applied.push(change);
      } catch (error) {
        failed.push({ change, reason: change.kind === "install" ? "HaproxyPushFailed" : "HaproxyWithdrawFailed", message: messageOf(error) });
      }
    }
    return { applied, failed };
  }
}
