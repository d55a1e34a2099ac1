import type { CertId } from "../ocsp/cert-id.ts";
import { formatCertIds } from "../ocsp/cert-id-text.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import { chainData, type ChainStaples } from "./chain-keys.ts";
import { ANNOTATION, FIELD_MANAGER, LABEL } from "./metadata-keys.ts";

/** The TLS Secret a companion belongs to. */
export interface SourceSecret {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
}

/** StapleConfig `spec.target`, for Companion mode. */
export interface CompanionTarget {
  readonly nameSuffix: string;
  readonly keys: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** What is written: a verified response, where it came from, and which certificate it is for. */
export interface StapleToWrite {
  readonly response: VerifiedResponse;
  readonly responder: string;
  /** SHA-256 of the leaf's DER: rotation shows at a glance, and the policy compares it. */
  readonly certificateSha256: string;
  /**
   * The leaf's CertIDs (cert-id.ts `certIdsFor`: SHA-1, then SHA-256), for the
   * cert-ids annotation. Computed by the caller so that this layer parses no
   * certificate; every writer of one staple must pass the same, or their
   * writes would differ and undo each other.
   */
  readonly certIds: readonly CertId[];
}

/** A server-side-apply body: plain data holding only the fields the operator owns. */
export interface CompanionSecretBody {
  readonly apiVersion: "v1";
  readonly kind: "Secret";
  readonly metadata: {
    readonly name: string;
    readonly namespace: string;
    readonly labels: Readonly<Record<string, string>>;
    readonly annotations: Readonly<Record<string, string>>;
    readonly ownerReferences: readonly { readonly apiVersion: "v1"; readonly kind: "Secret"; readonly name: string; readonly uid: string }[];
  };
  readonly type: "Opaque";
  /** Base64 DER under each target key. */
  readonly data: Readonly<Record<string, string>>;
}

export function companionName(source: SourceSecret, target: CompanionTarget): string {
  return `${source.name}${target.nameSuffix}`;
}

/**
 * The server-side-apply body for a companion Secret, built from scratch with
 * only the fields the operator owns (never an object read back from the
 * cache): labels and annotations from DESIGN.md plus the user's, an owner
 * reference so it is deleted with its TLS Secret, and the exact DER the
 * responder signed under each target key. With `chain` (`chain: Full`), also
 * each intermediate's staple and the bundle (chain-keys.ts); the leaf's keys
 * and the annotations are the same as without it.
 */
export function companionSecret(source: SourceSecret, target: CompanionTarget, staple: StapleToWrite, chain?: ChainStaples): CompanionSecretBody {
  const der = Buffer.from(staple.response.der).toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: companionName(source, target),
      namespace: source.namespace,
      labels: { ...target.labels, [LABEL.managedBy]: FIELD_MANAGER, [LABEL.source]: source.name },
      annotations: { ...target.annotations, ...stapleAnnotations(staple) },
      ownerReferences: [{ apiVersion: "v1", kind: "Secret", name: source.name, uid: source.uid }],
    },
    type: "Opaque",
    data: { ...Object.fromEntries(target.keys.map((key) => [key, der])), ...(chain === undefined ? {} : chainData(target.keys, staple.response, chain)) },
  };
}

/** The annotations that describe a staple (DESIGN.md), on a companion or, in InPlace mode, on the TLS Secret. */
export function stapleAnnotations(staple: StapleToWrite): Record<string, string> {
  const { response } = staple;
  return {
    [ANNOTATION.certStatus]: response.certStatus.kind,
    [ANNOTATION.thisUpdate]: response.thisUpdate.toISOString(),
    ...(response.nextUpdate === undefined ? {} : { [ANNOTATION.nextUpdate]: response.nextUpdate.toISOString() }),
    [ANNOTATION.responder]: staple.responder,
    [ANNOTATION.serial]: response.serial,
    [ANNOTATION.certSha256]: staple.certificateSha256,
    [ANNOTATION.usableUntil]: response.usableUntil.toISOString(),
    [ANNOTATION.certIds]: formatCertIds(staple.certIds),
  };
}
