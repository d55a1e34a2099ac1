import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { runOpenssl } from "./pki-openssl.ts";
import { startOpensslResponder, type OpensslResponder } from "./openssl-responder.ts";
import { createRootCa, goodEntry, revokedEntry, type Issued, type TestCa } from "./pki.ts";

/**
 * How an intermediate's own status can be had: answered good or revoked by
 * its parent's responder (the root's, at the URL in the intermediate's AIA),
 * no OCSP URL in it at all, or a URL where the parent's responder is down
 * (a port nothing listens on).
 */
export type IntermediateState = "good" | "revoked" | "no-ocsp-url" | "responder-down";

/** One root → intermediate → leaf chain of the rig, with the leaf's responder (the intermediate's). */
export interface RigChain {
  readonly intermediate: TestCa;
  readonly leaf: Issued;
  readonly leafResponder: OpensslResponder;
  /** The leaf, then the intermediate: what a server sends (a Secret's tls.crt). */
  readonly chainPath: string;
  /** A directory of this chain's own, for files a test writes. */
  readonly dir: string;
}

/** When the rig's revoked intermediates were revoked. */
export const INTERMEDIATE_REVOKED_AT = new Date("2026-01-01T00:00:00Z");

/**
 * A three-level PKI with a real `openssl ocsp` responder per CA, for
 * whole-chain stapling (`chain: Full`): the root's responder answers for its
 * intermediates, each intermediate's responder for its leaf, which it
 * always knows as good. Each `chain()` issues a new intermediate in the
 * state asked for.
 */
export class ChainRig {
  readonly root: TestCa;
  readonly rootResponder: OpensslResponder;
  private readonly known: { readonly ca: TestCa; readonly revoked: boolean }[] = [];
  private readonly leafResponders: OpensslResponder[] = [];

  private constructor(root: TestCa, rootResponder: OpensslResponder) {
    this.root = root;
    this.rootResponder = rootResponder;
  }

  static async start(name: string): Promise<ChainRig> {
    const root = await createRootCa({ name: `${name}-root`, key: "p256" });
    const rootResponder = await startOpensslResponder({ ca: root, indexPath: await root.writeIndex([]), nextUpdateDays: 7 });
    return new ChainRig(root, rootResponder);
  }

  async chain(name: string, state: IntermediateState = "good"): Promise<RigChain> {
    const intermediate = await this.root.issueIntermediate({ name: `${name}-int`, ...await this.intermediateUrl(state) });
    this.known.push({ ca: intermediate, revoked: state === "revoked" });
    await this.rootResponder.updateIndex(this.known.map(({ ca, revoked }) => (revoked ? revokedEntry(ca, INTERMEDIATE_REVOKED_AT, "CACompromise") : goodEntry(ca))));
    const port = await freePort();
    const leaf = await intermediate.issue({ commonName: `${name}.example`, ocspUrl: `http://127.0.0.1:${port}/` });
    const leafResponder = await startOpensslResponder({ ca: intermediate, indexPath: await intermediate.writeIndex([goodEntry(leaf)]), port, nextUpdateDays: 7 });
    this.leafResponders.push(leafResponder);
    const chainPath = join(intermediate.dir, "tls.crt");
    await writeFile(chainPath, leaf.certPem + intermediate.certPem);
    return { intermediate, leaf, leafResponder, chainPath, dir: intermediate.dir };
  }

  private async intermediateUrl(state: IntermediateState): Promise<{ ocspUrl?: string }> {
    if (state === "no-ocsp-url") return {};
    if (state === "responder-down") return { ocspUrl: `http://127.0.0.1:${await freePort()}/` };
    return { ocspUrl: this.rootResponder.url };
  }

  async stop(): Promise<void> {
    await Promise.all([this.rootResponder.stop(), ...this.leafResponders.map((responder) => responder.stop())]);
    await this.root.cleanup();
  }
}

/**
 * Two CA certificates that issued each other: A (CN=<name>-a) is signed by
 * B's key and names B as issuer, B (CN=<name>-b) is signed by A's key and
 * names A. Neither is self-signed and no root ends the chain [A, B]: the
 * issuer cycle the engine must refuse. `openssl ca` cannot reuse a key, so
 * this is made with `openssl x509 -req` from a throwaway self-signed B.
 */
export async function issuerCycle(dir: string, name: string): Promise<{ readonly a: string; readonly b: string }> {
  const path = (file: string) => join(dir, `${name}-${file}`);
  const ca = ["-extfile", path("ca.cnf"), "-extensions", "ca", "-days", "30"];
  await writeFile(path("ca.cnf"), "[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign,digitalSignature\n");
  for (const key of ["a", "b"]) await runOpenssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path(`${key}.key`)]);
  await runOpenssl(["req", "-x509", "-new", "-key", path("b.key"), "-subj", `/CN=${name}-b`, "-days", "30", "-out", path("b0.pem")]);
  await runOpenssl(["req", "-new", "-key", path("a.key"), "-subj", `/CN=${name}-a`, "-out", path("a.csr")]);
  await runOpenssl(["x509", "-req", "-in", path("a.csr"), "-CA", path("b0.pem"), "-CAkey", path("b.key"), "-set_serial", "0x0a", ...ca, "-out", path("a.pem")]);
  await runOpenssl(["req", "-new", "-key", path("b.key"), "-subj", `/CN=${name}-b`, "-out", path("b.csr")]);
  await runOpenssl(["x509", "-req", "-in", path("b.csr"), "-CA", path("a.pem"), "-CAkey", path("a.key"), "-set_serial", "0x0b", ...ca, "-out", path("b.pem")]);
  return { a: path("a.pem"), b: path("b.pem") };
}
