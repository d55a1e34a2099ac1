import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseResponse } from "../../src/ocsp/response-parser.ts";
import { OcspClient } from "../../src/ocsp/ocsp-client.ts";
import { readChain } from "../../src/ocsp/chain.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import { staplePair, type StaplePair } from "../../src/reloader/staple-pair.ts";
import { freePort } from "./free-port.ts";
import { LoopbackOnlyTransport } from "./loopback-transport.ts";
import { startOpensslResponder, type OpensslResponder } from "./openssl-responder.ts";
import { createRootCa, goodEntry, type Issued, type TestCa } from "./pki.ts";
import { makeTempDir } from "./tmp.ts";

/**
 * What every reloader test stands on: root → intermediate → leaf
 * (`localhost`) and a second leaf (`other`) from the same intermediate, a
 * real `openssl ocsp` responder answering for both, and fresh staples from it.
 */
export class ReloaderFixture {
  readonly root: TestCa;
  readonly intermediate: TestCa;
  readonly leaf: Issued;
  readonly other: Issued;
  readonly responder: OpensslResponder;
  /** The leaf then the intermediate: a TLS Secret's tls.crt. */
  readonly chainPem: string;
  /** `chainPem` as a file, for servers. */
  readonly chainPath: string;
  private readonly transport = new LoopbackOnlyTransport();
  private lastThisUpdate = 0;

  private constructor(fields: { root: TestCa; intermediate: TestCa; leaf: Issued; other: Issued; responder: OpensslResponder; chainPath: string }) {
    this.root = fields.root;
    this.intermediate = fields.intermediate;
    this.leaf = fields.leaf;
    this.other = fields.other;
    this.responder = fields.responder;
    this.chainPem = fields.leaf.certPem + fields.intermediate.certPem;
    this.chainPath = fields.chainPath;
  }

  static async create(name: string): Promise<ReloaderFixture> {
    const root = await createRootCa({ name: `${name}-root`, key: "p256" });
    const intermediate = await root.issueIntermediate({ name: `${name}-int` });
    const port = await freePort();
    const leaf = await intermediate.issue({ commonName: "localhost", ocspUrl: `http://127.0.0.1:${port}/` });
    const other = await intermediate.issue({ commonName: "other", ocspUrl: `http://127.0.0.1:${port}/` });
    const responder = await startOpensslResponder({ ca: intermediate, indexPath: await intermediate.writeIndex([goodEntry(leaf), goodEntry(other)]), port, nextUpdateDays: 7 });
    const chainPath = join(intermediate.dir, "served-chain.pem");
    await writeFile(chainPath, leaf.certPem + intermediate.certPem);
    return new ReloaderFixture({ root, intermediate, leaf, other, responder, chainPath });
  }

  /**
   * A verified staple for `cert` from the responder, with a thisUpdate later
   * than any staple this fixture made before (OCSP times have whole seconds,
   * so this may wait for the next second).
   */
  async staple(cert: Issued = this.leaf): Promise<{ der: Uint8Array; thisUpdate: string }> {
    for (;;) {
      const client = new OcspClient({ transport: this.transport, clock: systemClock });
      const fetched = await client.fetchStaple({ chain: readChain(cert.certPem + this.intermediate.certPem) });
      const thisUpdate = parseResponse(fetched.der).responses[0]?.thisUpdate.getTime() ?? 0;
      if (thisUpdate > this.lastThisUpdate) {
        this.lastThisUpdate = thisUpdate;
        return { der: fetched.der, thisUpdate: new Date(thisUpdate).toISOString() };
      }
      await sleep(1_050 - (Date.now() % 1_000));
    }
  }

  /**
   * A mounted pair in a fresh temporary directory (remove it with
   * removeTempDir): `tls.crt` holds `chainPem`, `tls.ocsp` a fresh staple.
   */
  async mountedPair(name: string): Promise<{ dir: string; pair: StaplePair }> {
    const dir = await makeTempDir(name);
    await writeFile(join(dir, "tls.crt"), this.chainPem);
    await writeFile(join(dir, "tls.ocsp"), (await this.staple()).der);
    return { dir, pair: staplePair("web", dir, join(dir, "tls.ocsp")) };
  }

  /**
   * `count` different verified staples for the leaf, fetched back to back
   * (a burst of volume updates needs more than one a second): the responder
   * signs with ECDSA, so each answer is new bytes even within one second.
   * Their thisUpdate never decreases, so the reloader would install each one
   * it looked at; the last is the newest.
   */
  async staples(count: number): Promise<Uint8Array[]> {
    const client = new OcspClient({ transport: this.transport, clock: systemClock });
    const chain = readChain(this.leaf.certPem + this.intermediate.certPem);
    const staples: Uint8Array[] = [];
    const seen = new Set<string>();
    while (staples.length < count) {
      const { der } = await client.fetchStaple({ chain });
      const hex = Buffer.from(der).toString("hex");
      if (seen.has(hex)) continue;
      seen.add(hex);
      staples.push(der);
      this.lastThisUpdate = Math.max(this.lastThisUpdate, parseResponse(der).responses[0]?.thisUpdate.getTime() ?? 0);
    }
    return staples;
  }

  async cleanup(): Promise<void> {
    await this.transport.close();
    await this.responder.stop();
    await this.root.cleanup();
  }
}
