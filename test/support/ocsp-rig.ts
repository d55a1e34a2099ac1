import { freePort } from "./free-port.ts";
import { LoopbackOnlyTransport } from "./loopback-transport.ts";
import { startOpensslResponder, type OpensslResponder } from "./openssl-responder.ts";
import { createRootCa, goodEntry, revokedEntry, type Issued, type KeyKind, type TestCa, type Validity } from "./pki.ts";

/**
 * What every operator test stands on: a CA, a real `openssl ocsp` responder
 * for it at a fixed URL, leaves it answers for (good or revoked) or not at all
 * (unknown), and the loopback-only transport the controller fetches through.
 */
export class OcspRig {
  readonly transport = new LoopbackOnlyTransport();
  readonly ca: TestCa;
  readonly responder: OpensslResponder;
  readonly ocspUrl: string;
  private readonly known: { cert: Issued; revoked: boolean }[] = [];

  private constructor(ca: TestCa, responder: OpensslResponder) {
    this.ca = ca;
    this.responder = responder;
    this.ocspUrl = responder.url;
  }

  static async start(name: string, key: KeyKind = "p256"): Promise<OcspRig> {
    const ca = await createRootCa({ name, key });
    const port = await freePort();
    const responder = await startOpensslResponder({ ca, indexPath: await ca.writeIndex([]), port, nextUpdateDays: 7 });
    return new OcspRig(ca, responder);
  }

  /** A leaf naming the responder in its AIA, answered good or revoked (keyCompromise), or unknown to it. */
  async leaf(name: string, state: "good" | "revoked" | "unknown" = "good", validity: Validity = {}): Promise<Issued> {
    const cert = await this.ca.issue({ commonName: `${name}.example`, ocspUrl: this.ocspUrl, ...validity });
    if (state === "unknown") return cert;
    this.known.push({ cert, revoked: state === "revoked" });
    // The responder may be down on purpose; then there is no index to reload.
    await this.responder.updateIndex(this.known.map((entry) => (entry.revoked ? revokedEntry(entry.cert, new Date("2026-01-01T00:00:00Z"), "keyCompromise") : goodEntry(entry.cert)))).catch(() => undefined);
    return cert;
  }

  async stop(): Promise<void> {
    await this.transport.close();
    await this.responder.stop();
    await this.ca.cleanup();
  }
}
