import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { runOpenssl } from "./pki-openssl.ts";
import type { Issued, TestCa } from "./pki.ts";

export interface OfflineResponseOptions {
  /** The certificate the response is about. */
  readonly subject: Issued;
  /** Its issuer; answers come from this CA's index. */
  readonly ca: TestCa;
  /** Who signs: the CA itself unless a delegated responder is given. */
  readonly signer?: Issued;
  readonly index: string;
  /** `-ndays` (7 unless given); null: no nextUpdate at all (`openssl ocsp` without `-ndays`/`-nmin`). */
  readonly nextUpdateDays?: number | null;
  /** `-nmin`: nextUpdate this many minutes after thisUpdate (then no `-ndays` unless `nextUpdateDays` is given: OpenSSL adds the two). */
  readonly nmin?: number;
  /**
   * The certificates the request names, in order (default: just `subject`):
   * OpenSSL answers each with a SingleResponse of one signed response, in the
   * request's order. All must be issued by `ca`.
   */
  readonly requestFor?: readonly Issued[];
  /** Embed no certificates (the usual shape of issuer-signed answers). */
  readonly noCerts?: boolean;
  /**
   * How the response names its signer (RFC 6960 §4.2.1 ResponderID): by
   * subject name (OpenSSL's default) or by the SHA-1 of its key (`-resp_key_id`,
   * what many public CAs send). GnuTLS clients treat the two differently.
   */
  readonly responderId?: "name" | "key";
  /** Signing digest (-rmd); OpenSSL's default otherwise. Ed25519 needs none. */
  readonly digest?: string;
}

/**
 * A real `openssl ocsp` response made without a server: OpenSSL writes the
 * request, then answers it from the CA's index. Used where a test needs many
 * genuine responses fast (algorithm matrices, benchmarks).
 */
export async function makeOfflineResponse(options: OfflineResponseOptions): Promise<Uint8Array> {
  const tag = `${options.subject.serialHex}-${Date.now()}-${Math.random().toString(16).slice(2)}`;
  const request = join(options.ca.dir, `request-${tag}.der`);
  const response = join(options.ca.dir, `response-${tag}.der`);
  const signer = options.signer ?? options.ca;
  const named = (options.requestFor ?? [options.subject]).flatMap((cert) => ["-cert", cert.certPath]);
  await runOpenssl(["ocsp", "-issuer", options.ca.certPath, ...named, "-no_nonce", "-reqout", request]);
  await runOpenssl([
    "ocsp", "-index", options.index, "-CA", options.ca.certPath, "-rsigner", signer.certPath, "-rkey", signer.keyPath,
    "-reqin", request, "-respout", response,
    // OpenSSL adds -ndays and -nmin together: with -nmin, days only when asked for.
    ...(options.nextUpdateDays === null || (options.nmin !== undefined && options.nextUpdateDays === undefined) ? [] : ["-ndays", String(options.nextUpdateDays ?? 7)]),
    ...(options.nmin === undefined ? [] : ["-nmin", String(options.nmin)]),
    ...(options.noCerts === true ? ["-resp_no_certs"] : []),
    ...(options.responderId === "key" ? ["-resp_key_id"] : []),
    ...(options.digest === undefined ? [] : ["-rmd", options.digest]),
  ]);
  return new Uint8Array(await readFile(response));
}
