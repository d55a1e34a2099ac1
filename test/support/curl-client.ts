/**
 * curl as a mail client that insists on a staple: `smtp://` with
 * `--ssl-reqd` (STARTTLS or fail) and `--cert-status` (RFC 6066 status
 * request; the handshake fails without a good, verified staple for the leaf).
 * With `tls: "opportunistic"` it says `--ssl` instead, like most mail
 * senders: when STARTTLS is refused it carries on in plaintext.
 * Debian 12's curl 7.88.1 uses OpenSSL, which checks only the leaf's
 * response, whatever the TLS version.
 *
 * Exit codes that matter here: 0 (verified, then SMTP HELP answered),
 * 64 CURLE_USE_SSL_FAILED (STARTTLS refused, e.g. Exim's 454), 91
 * CURLE_SSL_INVALIDCERTSTATUS (no staple, or one that failed to verify).
 */
import { opensslEnv } from "./pki-openssl.ts";
import { CURL, findProgram } from "./programs.ts";
import { runProgram } from "./run-program.ts";

export interface CurlRun {
  readonly code: number;
  /** `-v` output: the SMTP dialogue, the TLS version, curl's verdict on the staple. */
  readonly output: string;
  /** curl's line "SSL certificate status: good (0)", e.g. `good`; undefined when it printed none. */
  readonly certStatus: string | undefined;
  /** The TLS version curl negotiated, e.g. `TLSv1.3`. */
  readonly protocol: string | undefined;
}

export interface CurlOptions {
  /** `required` (default): `--ssl-reqd`; `opportunistic`: `--ssl`. */
  readonly tls?: "required" | "opportunistic";
  /** The only TLS version offered; default 1.3. */
  readonly version?: "1.2" | "1.3";
}

/** Connects to `localhost:port` (pinned to 127.0.0.1), trusting `caPath`; then asks HELP. */
export async function curlSmtpCertStatus(port: number, caPath: string, options: CurlOptions = {}): Promise<CurlRun> {
  const binary = findProgram(CURL);
  if (binary === undefined) throw new Error("curl is not installed (Debian: apt-get install curl)");
  const args = [
    "-sS", "-v", "--max-time", "20", "--noproxy", "*",
    "--resolve", `localhost:${String(port)}:127.0.0.1`,
    options.tls === "opportunistic" ? "--ssl" : "--ssl-reqd", "--cert-status", ...(options.version === "1.2" ? ["--tlsv1.2", "--tls-max", "1.2"] : ["--tlsv1.3"]), "--cacert", caPath,
    `smtp://localhost:${String(port)}/`,
  ];
  const { code, output } = await runProgram(binary, args, { env: opensslEnv() });
  return {
    code,
    output,
    certStatus: /SSL certificate status: (\w+)/.exec(output)?.[1],
    protocol: /SSL connection using (TLSv[\d.]+)/.exec(output)?.[1],
  };
}
