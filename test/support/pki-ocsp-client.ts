/**
 * The `openssl ocsp` client as an independent second opinion: it builds
 * requests and checks responses without any of our code, so tests can tell
 * a fixture problem from an engine bug.
 */
import { randomUUID } from "node:crypto";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Issued } from "./pki.ts";
import { execOpenssl, runOpenssl } from "./pki-openssl.ts";

export type CertStatusWord = "good" | "revoked" | "unknown";

export type CertIdDigest = "sha1" | "sha256" | "sha384" | "sha512";

/** Which certificate: `cert` (its file), or just a serial when the certificate does not exist. */
export type Subject = { readonly cert: Issued } | { readonly serialHex: string };

export type OcspQuery = Subject & {
  readonly issuer: Issued;
  /** Trust anchors for verifying the response (`-CAfile`). Default: the issuer's certificate. */
  readonly caFile?: string;
  /** The CertID hash; a `response` is only matched if it used the same. Default `sha1`. */
  readonly digest?: CertIdDigest;
  readonly extraArgs?: readonly string[];
} & ({ readonly url: string } | { readonly response: Uint8Array });

export interface OcspQueryResult {
  /** Undefined when openssl printed no status (no or unusable response). */
  readonly status: CertStatusWord | undefined;
  /** openssl printed "Response verify OK": signature, signer authorisation and chain all checked. */
  readonly verified: boolean;
  readonly revocationReason: string | undefined;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Asks `url`, or reads `response` (DER), with `openssl ocsp` and reports the
 * status it prints and whether it verified the response. Never throws on a
 * bad response: tests assert on the result.
 */
export async function opensslQuery(query: OcspQuery): Promise<OcspQueryResult> {
  const temporary = "response" in query ? await writeTemporary(query.issuer, query.response) : undefined;
  try {
    // For a stored response there is no request whose nonce could match.
    const source = "url" in query ? ["-url", query.url] : ["-respin", temporary ?? "", "-no_nonce"];
    const run = await execOpenssl([
      "ocsp",
      "-issuer", query.issuer.certPath,
      `-${query.digest ?? "sha1"}`,
      ...subjectArgs(query),
      ...source,
      "-CAfile", query.caFile ?? query.issuer.certPath,
      ...(query.extraArgs ?? []),
    ]);
    return { ...run, ...parseStatus(run.stdout), verified: run.stderr.includes("Response verify OK") };
  } finally {
    if (temporary !== undefined) {
      await rm(temporary, { force: true });
    }
  }
}

export interface RequestOptions {
  /** Adds a random nonce extension (RFC 8954). Default false, as RFC 5019 clients do. */
  readonly nonce?: boolean;
  /** The CertID hash. Default `sha1`, per RFC 5019. */
  readonly digest?: CertIdDigest;
}

/** A DER OCSPRequest for `subject` under `issuer`, as openssl builds it. */
export async function ocspRequestDer(issuer: Issued, subject: Subject, options: RequestOptions = {}): Promise<Buffer> {
  const out = temporaryPath(issuer, "req");
  try {
    // The digest option must precede -cert/-serial: it applies to the CertIDs that follow.
    await runOpenssl([
      "ocsp",
      "-issuer", issuer.certPath,
      `-${options.digest ?? "sha1"}`,
      ...subjectArgs(subject),
      options.nonce === true ? "-nonce" : "-no_nonce",
      "-reqout", out,
    ]);
    return await readFile(out);
  } finally {
    await rm(out, { force: true });
  }
}

/** The path of an RFC 6960 Appendix A GET: base64 of the DER request, percent-encoded. */
export function getPath(requestDer: Uint8Array): string {
  return encodeURIComponent(Buffer.from(requestDer).toString("base64"));
}

function subjectArgs(subject: Subject): string[] {
  return "cert" in subject ? ["-cert", subject.cert.certPath] : ["-serial", `0x${subject.serialHex}`];
}

function parseStatus(stdout: string): { status: CertStatusWord | undefined; revocationReason: string | undefined } {
  const status = /^.*: (good|revoked|unknown)$/m.exec(stdout)?.[1] as CertStatusWord | undefined;
  const revocationReason = /^\s*Reason: (\S+)$/m.exec(stdout)?.[1];
  return { status, revocationReason };
}

function temporaryPath(issuer: Issued, label: string): string {
  return join(dirname(issuer.certPath), `${label}-${randomUUID()}.der`);
}

async function writeTemporary(issuer: Issued, der: Uint8Array): Promise<string> {
  const path = temporaryPath(issuer, "resp");
  await writeFile(path, der);
  return path;
}
