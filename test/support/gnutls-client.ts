/**
 * `gnutls-cli` (Debian's gnutls-bin) as an SMTP client: STARTTLS, a handshake
 * pinned to one TLS version, every stapled response saved. It is the client
 * for `chain: Full` because GnuTLS is the one common TLS library that asks
 * for and checks the status of every certificate of a TLS 1.3 chain
 * (OpenSSL, and so curl and Node, look at the leaf's only).
 *
 * What GnuTLS 3.7.9 does with the staples (lib/cert-session.c, and observed):
 * `gnutls_certificate_verify_peers` checks each stapled response against the
 * certificate it came with; one that does not verify adds "The received OCSP
 * status response is invalid" to the status, a revoked one "The certificate
 * was revoked via OCSP", and gnutls-cli then refuses the server.
 * `--ocsp` adds an online check of the whole chain at the AIA URLs, but only
 * when no stapled response verified (`gnutls_ocsp_status_request_is_checked`
 * is false): a good leaf staple skips it.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeResponseBundle, isResponseBundle, readResponseBundle } from "../../src/ocsp/response-bundle.ts";
import { GNUTLS_CLI, findProgram } from "./programs.ts";
import { runProgram } from "./run-program.ts";
import { makeTempDir, removeTempDir } from "./tmp.ts";

export interface GnutlsCliOptions {
  /** The only TLS version offered. */
  readonly tls: "1.2" | "1.3";
  /** The trust anchors (`--x509cafile`). */
  readonly caPath: string;
  /** `--ocsp`: also ask the chain's responders when no staple verified. */
  readonly ocsp?: boolean;
  /** Checked against the leaf; default `localhost`. */
  readonly hostname?: string;
}

export interface GnutlsCliRun {
  /** 0 when gnutls-cli accepted the server. */
  readonly code: number;
  /** Its stdout and stderr, for assertions and failure messages. */
  readonly output: string;
  /** "- Handshake was completed" was printed: TLS finished and the server was accepted. */
  readonly handshake: boolean;
  /** The text after "- Status: ", e.g. "The certificate is trusted." or "The certificate is NOT trusted. The received OCSP status response is invalid." */
  readonly status: string | undefined;
  /** Every stapled response, in certificate order (leaf first), as DER. */
  readonly responses: readonly Buffer[];
}

/**
 * Connects to 127.0.0.1:`port`, says EHLO and STARTTLS, and does one
 * handshake; stdin is closed, so it quits right after. `-V` makes it print
 * each staple's decoded form.
 */
export async function gnutlsCliStarttls(port: number, options: GnutlsCliOptions): Promise<GnutlsCliRun> {
  const binary = findProgram(GNUTLS_CLI);
  if (binary === undefined) throw new Error("gnutls-cli is not installed (Debian: apt-get install gnutls-bin)");
  const dir = await makeTempDir("gnutls-cli");
  try {
    const saved = join(dir, "staples.pem");
    const args = [
      "-V", "--starttls-proto", "smtp", "-p", String(port),
      "--priority", `NORMAL:-VERS-ALL:+VERS-TLS${options.tls}`,
      "--x509cafile", options.caPath,
      "--verify-hostname", options.hostname ?? "localhost",
      "--save-ocsp-multi", saved,
      ...(options.ocsp === true ? ["--ocsp"] : []),
      "127.0.0.1",
    ];
    const { code, output } = await runProgram(binary, args, { killAfterMs: 30_000 });
    const status = /^- Status: (.*?)\s*$/m.exec(output)?.[1];
    // No file, or an empty one, when the server stapled nothing.
    const text = await readFile(saved, "latin1").catch(() => "");
    const responses = isResponseBundle(text) ? readResponseBundle(text, saved).map((der) => Buffer.from(der)) : [];
    return { code, output, handshake: output.includes("- Handshake was completed"), status, responses };
  } finally {
    await removeTempDir(dir);
  }
}

/**
 * Writes `responses` (DER) to `path` as the PEM bundle GnuTLS servers load
 * (the engine's encoding, what `fetch --chain full --out` writes), for the
 * cases that need a bundle the CLI would not write; returns `path`.
 */
export async function writeResponseBundle(path: string, responses: readonly Uint8Array[]): Promise<string> {
  await writeFile(path, encodeResponseBundle(responses));
  return path;
}
