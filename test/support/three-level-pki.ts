/**
 * A root → intermediate → leaf PKI in which every CA answers for what it
 * issued, the set-up `chain: Full` needs: a real `openssl ocsp` responder per
 * CA at the URL in its children's AIA (the root's answers for the
 * intermediate, the intermediate's for the leaf), a delegated OCSP-signing
 * certificate per CA, and signed responses on demand in any of the layouts
 * real CAs use (issuer-signed or delegated, certificates embedded or not,
 * ResponderID by name or by key).
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { freePort } from "./free-port.ts";
import { makeOfflineResponse } from "./offline-response.ts";
import { startOpensslResponder, type OpensslResponder, type OpensslResponderOptions } from "./openssl-responder.ts";
import { createRootCa, goodEntry, revokedEntry, type Issued, type IndexEntry, type TestCa } from "./pki.ts";

/** The two certificates whose status a full-chain staple carries. */
export type ChainMember = "leaf" | "intermediate";

/** How a response is signed and what it carries (RFC 6960 §4.2.1, §4.2.2.2). */
export interface ResponseLayout {
  /** `issuer`: the CA that issued the certificate signs; `delegate`: its OCSP-signing certificate does. */
  readonly signer: "issuer" | "delegate";
  /** The signer's certificate is in the response's `certs`. */
  readonly embedCerts: boolean;
  /** ResponderID byName or byKey. */
  readonly responderId: "name" | "key";
}

/** What most CAs that sign with the issuer's own key send: no certificates, ResponderID by name (OpenSSL's default). */
export const ISSUER_SIGNED: ResponseLayout = { signer: "issuer", embedCerts: false, responderId: "name" };

/** When the intermediate was revoked, in every revoked response. */
export const REVOKED_AT = new Date("2026-01-01T00:00:00Z");

export interface ThreeLevelPki {
  readonly root: TestCa;
  readonly intermediate: TestCa;
  /** For `localhost` and 127.0.0.1. */
  readonly leaf: Issued;
  /** id-kp-OCSPSigning certificates, one issued by each CA. */
  readonly delegates: Readonly<Record<"root" | "intermediate", Issued>>;
  /** The responder that answers for each member: the root's for the intermediate, the intermediate's for the leaf. */
  readonly responders: Readonly<Record<ChainMember, OpensslResponder>>;
  /** PEM: the leaf, then the intermediate (a Secret's tls.crt; what Exim sends). */
  readonly chainPath: string;
  /** PEM: the root alone, the clients' trust anchor. */
  readonly rootPath: string;
  /** Answers for `member` from now on (its responder and the responses made here). */
  setStatus(member: ChainMember, status: "good" | "revoked"): Promise<void>;
  /** A freshly signed response about `member` (nextUpdate in 7 days), made without the responder. */
  response(member: ChainMember, layout?: ResponseLayout): Promise<Uint8Array>;
  cleanup(): Promise<void>;
}

/** Builds the PKI in a new temp dir and starts both responders; both members start `good`. */
export async function createThreeLevelPki(name: string): Promise<ThreeLevelPki> {
  const root = await createRootCa({ name: `${name}-root`, key: "p256" });
  const started: OpensslResponder[] = [];
  const start = async (options: OpensslResponderOptions): Promise<OpensslResponder> => {
    const responder = await startOpensslResponder(options);
    started.push(responder);
    return responder;
  };
  try {
    const [rootPort, intermediatePort] = await Promise.all([freePort(), freePort()]);
    const intermediate = await root.issueIntermediate({ name: `${name}-int`, ocspUrl: `http://127.0.0.1:${String(rootPort)}/` });
    const leaf = await intermediate.issue({ commonName: "localhost", ocspUrl: `http://127.0.0.1:${String(intermediatePort)}/` });
    const delegates = {
      root: await root.issueResponder({ commonName: `${name}-root-ocsp` }),
      intermediate: await intermediate.issueResponder({ commonName: `${name}-int-ocsp` }),
    };
    const members = {
      intermediate: { cert: intermediate, ca: root, delegate: delegates.root, index: join(root.dir, "ocsp-index.txt") },
      leaf: { cert: leaf, ca: intermediate, delegate: delegates.intermediate, index: join(intermediate.dir, "ocsp-index.txt") },
    } as const;
    const entry = (member: ChainMember, status: "good" | "revoked"): IndexEntry =>
      status === "good" ? goodEntry(members[member].cert) : revokedEntry(members[member].cert, REVOKED_AT, "keyCompromise");
    await Promise.all((["leaf", "intermediate"] as const).map((member) => members[member].ca.writeIndex([entry(member, "good")])));
    const responders = {
      intermediate: await start({ ca: root, indexPath: members.intermediate.index, port: rootPort, nextUpdateDays: 7 }),
      leaf: await start({ ca: intermediate, indexPath: members.leaf.index, port: intermediatePort, nextUpdateDays: 7 }),
    };
    const chainPath = join(root.dir, "chain.pem");
    await writeFile(chainPath, leaf.certPem + intermediate.certPem);
    return {
      root, intermediate, leaf, delegates, responders, chainPath, rootPath: root.certPath,
      setStatus: (member, status) => responders[member].updateIndex([entry(member, status)]),
      response: (member, layout = ISSUER_SIGNED) => {
        const { cert, ca, delegate, index } = members[member];
        return makeOfflineResponse({
          subject: cert, ca, index, nextUpdateDays: 7,
          ...(layout.signer === "delegate" ? { signer: delegate } : {}),
          noCerts: !layout.embedCerts,
          responderId: layout.responderId,
        });
      },
      cleanup: async () => {
        await Promise.all(started.map((responder) => responder.stop()));
        await root.cleanup();
      },
    };
  } catch (error) {
    await Promise.all(started.map((responder) => responder.stop()));
    await root.cleanup();
    throw error;
  }
}
