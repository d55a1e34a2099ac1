import { writeFileSync } from "node:fs";
import { readChain } from "../ocsp/chain.ts";
import { fail, messageOf } from "../ocsp/errors.ts";
import { DEFAULT_HTTP_LIMITS } from "../ocsp/http-transport.ts";
import { OcspClient } from "../ocsp/ocsp-client.ts";
import { readCertificates } from "../ocsp/pem.ts";
import { choiceFlag, parseCommandLine, requiredFlag, secondsFlag, stringFlag } from "./args.ts";
import type { CommandContext, CommandOutcome } from "./command-context.ts";
import { exitFor } from "./exit-status.ts";
import { readInputFile } from "./load-files.ts";
import { verifiedReport } from "./report.ts";

export const FETCH_HELP = `Usage: ocsp-stapler fetch --cert CHAIN.pem [options]

Gets an OCSP response for the first certificate in CHAIN.pem from its
responder, verifies it, and optionally writes it as a staple file.

Options:
  --cert FILE       PEM chain: the leaf first, then intermediates (as in tls.crt)
  --issuer FILE     the issuer certificate, when the chain does not hold it
  --url URL         ask this responder instead of the certificate's AIA OCSP URL
  --out FILE        write the verified DER response here (good or revoked only)
  --timeout S       give up after S seconds (default 10)
  --method M        Auto (GET when small, RFC 5019), GET or POST (default Auto)
  --hash H          CertID hash: sha1 (default, RFC 5019) or sha256
  --nonce           send a nonce and require the response to echo it
  --json            print one JSON object instead of a summary
  -h, --help        show this help

Exit status: 0 verified good, 1 verified revoked or unknown, 2 any failure.
`;

const OPTIONS = {
  cert: { type: "string" }, issuer: { type: "string" }, url: { type: "string" }, out: { type: "string" },
  timeout: { type: "string" }, method: { type: "string" }, hash: { type: "string" }, nonce: { type: "boolean" }, json: { type: "boolean" },
} as const;

export async function runFetch(args: readonly string[], context: CommandContext): Promise<CommandOutcome | "help"> {
  const { values } = parseCommandLine(args, OPTIONS, { min: 0, max: 0 });
  if (values.help === true) return "help";
  const certPath = requiredFlag(values, "cert");
  const issuerPath = stringFlag(values, "issuer");
  const urlOverride = stringFlag(values, "url");
  const method = choiceFlag(values, "method", ["Auto", "GET", "POST"] as const);
  const hashAlgorithm = choiceFlag(values, "hash", ["sha1", "sha256"] as const);
  const timeoutMs = secondsFlag(values, "timeout", DEFAULT_HTTP_LIMITS.timeoutMs);
  const client = new OcspClient({ transport: context.transport(), clock: context.clock });
  const staple = await client.fetchStaple({
    chain: readChain(readInputFile(certPath, "the certificate chain")),
    ...(issuerPath === undefined ? {} : { explicitIssuers: readCertificates(readInputFile(issuerPath, "the issuer"), issuerPath) }),
    ...(urlOverride === undefined ? {} : { urlOverride }),
    ...(method === undefined ? {} : { method }),
    ...(hashAlgorithm === undefined ? {} : { hashAlgorithm }),
    withNonce: values.nonce === true,
    timeoutMs,
  });
  const out = stringFlag(values, "out");
  const writes = out !== undefined && staple.certStatus.kind !== "unknown";
  if (writes) writeStaple(out, staple.der);
  const written = writes ? { out } : {};
  return { report: verifiedReport(staple, { responder: staple.responder, issuerSource: staple.issuerSource, ...written }), exit: exitFor(staple.certStatus) };
}

/** `unknown` is never stapled (DESIGN.md): the file is written only for good and revoked. */
function writeStaple(path: string, der: Uint8Array): void {
  try {
    writeFileSync(path, der);
  } catch (error) {
    fail("BadInput", `cannot write the staple to "${path}" (${messageOf(error)})`, error);
  }
}
