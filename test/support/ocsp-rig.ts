import { freePort } from "./free-port.ts";
import { LoopbackOnlyTransport } from "./loopback-transport.ts";
import { startOpensslResponder, type OpensslResponder } from "./openssl-responder.ts";
import { createRootCa, goodEntry, revokedEntry, type Issued, type KeyKind, type LeafOptions, type TestCa } from "./pki.ts";

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

  /**
   * A leaf naming the responder in its AIA, answered good or revoked
   * (keyCompromise), or unknown to it. `options` changes the rest of the
   * certificate (its validity, say).
   */
  async leaf(name: string, state: "good" | "revoked" | "unknown" = "good", options: Partial<LeafOptions> = {}): Promise<Issued> {
    const cert = await this.ca.issue({ commonName: `${name}.example`, ocspUrl: this.ocspUrl, ...options });
    if (state === "unknown") return cert;
    this.known.push({ cert, revoked: state === "revoked" });
    await this.reindex();
    return cert;
  }

  /** Many good leaves, `parallel` issued at a time, with one index reload for all (a fleet for load tests). */
  async goodLeaves(names: readonly string[], parallel = 4): Promise<Issued[]> {
    const issued: Issued[] = new Array<Issued>(names.length);
    let next = 0;
    await Promise.all(Array.from({ length: parallel }, async () => {
      for (let index = next++; index < names.length; index = next++) {
        issued[index] = await this.ca.issue({ commonName: `${names[index] ?? ""}.example`, ocspUrl: this.ocspUrl });
      }
    }));
    this.known.push(...issued.map((cert) => ({ cert, revoked: false })));
    await this.reindex();
    return issued;
  }

  private async reindex(): Promise<void> {
    // The responder may be down on purpose; then there is no index to reload.
    await this.responder.updateIndex(this.known.map((entry) => (entry.revoked ? revokedEntry(entry.cert, new Date("2026-01-01T00:00:00Z"), "keyCompromise") : goodEntry(entry.cert)))).catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.transport.close();
    await this.responder.stop();
    await this.ca.cleanup();
  }
}
