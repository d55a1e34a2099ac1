import { fetchCaIssuers } from "../ocsp/ca-issuers.ts";
import { readChain } from "../ocsp/chain.ts";
import { readCertificates } from "../ocsp/pem.ts";
import { isResponseBundle } from "../ocsp/response-bundle.ts";
import { verifyStaple } from "../ocsp/verify-staple.ts";
import { parseCommandLine, stringFlag } from "./args.ts";
import type { CommandContext, CommandOutcome } from "./command-context.ts";
import { decodedReport } from "./decoded-report.ts";
import { exitFor } from "./exit-status.ts";
import { inspectBundle } from "./inspect-bundle.ts";
import { readInputFile } from "./load-files.ts";
import { verifiedReport } from "./report.ts";
import { UsageError } from "./usage-error.ts";

export const INSPECT_HELP = `Usage: ocsp-stapler inspect STAPLE.der [--cert CHAIN.pem] [--issuer ISSUER.pem] [--at TIME] [--json]

Decodes a staple (a DER OCSP response). Given the certificate, verifies it
exactly as "fetch" does, at TIME: "was this staple valid then?".
A file of "-----BEGIN OCSP RESPONSE-----" blocks (what "fetch --chain full
--out" writes) is read as a bundle: block 1 is about the leaf, block 2 about
the first intermediate, and so on; each is verified against that certificate
of CHAIN.pem and listed on its own.

Options:
  --cert FILE     PEM chain whose first certificate the staple must be about
  --issuer FILE   the issuer certificate(s), when the chain does not hold them
  --at TIME       judge freshness at this RFC 3339 instant (default: now)
  --json          print one JSON object instead of a summary
  -h, --help      show this help

Without --cert the staple is only decoded ("verified": false).
Exit status: 0 good, 1 revoked or unknown, 2 any failure. For a bundle: 0 when
every response is good, 2 when any failed, otherwise 1.
`;

const OPTIONS = { cert: { type: "string" }, issuer: { type: "string" }, at: { type: "string" }, json: { type: "boolean" } } as const;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export async function runInspect(args: readonly string[], context: CommandContext): Promise<CommandOutcome | "help"> {
  const { values, positionals } = parseCommandLine(args, OPTIONS, { min: 1, max: 1 });
  if (values.help === true) return "help";
  const at = parseInstant(stringFlag(values, "at")) ?? context.clock.now();
  const stapleFile = positionals[0] ?? "";
  const der = readInputFile(stapleFile, "the staple");
  const certPath = stringFlag(values, "cert");
  const issuerPath = stringFlag(values, "issuer");
  if (isResponseBundle(der)) return inspectBundle(der, stapleFile, context, { at, ...(certPath === undefined ? {} : { certPath }), ...(issuerPath === undefined ? {} : { issuerPath }) });
  if (certPath === undefined) return decodeOnly(der);
  const chain = readChain(readInputFile(certPath, "the certificate chain"));
  const { response, issuer } = await verifyStaple(der, {
    chain,
    ...(issuerPath === undefined ? {} : { explicitIssuers: readCertificates(readInputFile(issuerPath, "the issuer"), issuerPath) }),
    download: (url) => fetchCaIssuers(context.transport(), url),
    at,
  });
  return { report: verifiedReport(response, { at: at.toISOString(), issuerSource: issuer.source }), exit: exitFor(response.certStatus), at };
}

/** No certificate: report what the staple says about itself, flagged as unverified. */
function decodeOnly(der: Uint8Array): CommandOutcome {
  const { report, status } = decodedReport(der);
  return { report, exit: exitFor(status) };
}

function parseInstant(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (!RFC3339.test(value) || Number.isNaN(date.getTime())) throw new UsageError(`--at must be an RFC 3339 time such as 2026-11-25T03:10:00Z, got "${value}"`);
  return date;
}
