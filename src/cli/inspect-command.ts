import { fetchCaIssuers } from "../ocsp/ca-issuers.ts";
import { readChain } from "../ocsp/chain.ts";
import { fail } from "../ocsp/errors.ts";
import { readCertificates } from "../ocsp/pem.ts";
import { parseResponse, type BasicResponse } from "../ocsp/response-parser.ts";
import { algorithmName } from "../ocsp/signature.ts";
import { verifyStaple } from "../ocsp/verify-staple.ts";
import { parseCommandLine, stringFlag } from "./args.ts";
import type { CommandContext, CommandOutcome } from "./command-context.ts";
import { exitFor } from "./exit-status.ts";
import { readInputFile } from "./load-files.ts";
import { statusFields, verifiedReport } from "./report.ts";
import { UsageError } from "./usage-error.ts";

export const INSPECT_HELP = `Usage: ocsp-stapler inspect STAPLE.der [--cert CHAIN.pem] [--issuer ISSUER.pem] [--at TIME] [--json]

Decodes a staple (a DER OCSP response). Given the certificate, verifies it
exactly as "fetch" does, at TIME: "was this staple valid then?".

Options:
  --cert FILE     PEM chain whose first certificate the staple must be about
  --issuer FILE   the issuer certificate, when the chain does not hold it
  --at TIME       judge freshness at this RFC 3339 instant (default: now)
  --json          print one JSON object instead of a summary
  -h, --help      show this help

Without --cert the staple is only decoded ("verified": false).
Exit status: 0 good, 1 revoked or unknown, 2 any failure.
`;

const OPTIONS = { cert: { type: "string" }, issuer: { type: "string" }, at: { type: "string" }, json: { type: "boolean" } } as const;

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export async function runInspect(args: readonly string[], context: CommandContext): Promise<CommandOutcome | "help"> {
  const { values, positionals } = parseCommandLine(args, OPTIONS, { min: 1, max: 1 });
  if (values.help === true) return "help";
  const at = parseInstant(stringFlag(values, "at")) ?? context.clock.now();
  const der = readInputFile(positionals[0] ?? "", "the staple");
  const certPath = stringFlag(values, "cert");
  if (certPath === undefined) return decodeOnly(der);
  const chain = readChain(readInputFile(certPath, "the certificate chain"));
  const issuerPath = stringFlag(values, "issuer");
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
  const response = parseResponse(der);
  const [first] = response.responses;
  if (first === undefined) return fail("MalformedResponse", "the response holds no SingleResponse");
  return {
    report: {
      ok: true,
      verified: false,
      ...statusFields(first.status),
      serial: first.certId.serial,
      thisUpdate: first.thisUpdate.toISOString(),
      ...(first.nextUpdate === undefined ? {} : { nextUpdate: first.nextUpdate.toISOString() }),
      producedAt: response.producedAt.toISOString(),
      ...decodedFields(response),
    },
    exit: exitFor(first.status),
  };
}

function decodedFields(response: BasicResponse): Record<string, unknown> {
  return {
    signatureAlgorithm: algorithmName(response.signatureAlgorithm),
    responderId: "byKey" in response.responderId ? { byKey: Buffer.from(response.responderId.byKey).toString("hex") } : { byName: Buffer.from(response.responderId.byName).toString("hex") },
    embeddedCertificates: response.certificates.length,
    responses: response.responses.map((single) => ({
      serial: single.certId.serial,
      ...statusFields(single.status),
      thisUpdate: single.thisUpdate.toISOString(),
      ...(single.nextUpdate === undefined ? {} : { nextUpdate: single.nextUpdate.toISOString() }),
    })),
  };
}

function parseInstant(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (!RFC3339.test(value) || Number.isNaN(date.getTime())) throw new UsageError(`--at must be an RFC 3339 time such as 2026-11-25T03:10:00Z, got "${value}"`);
  return date;
}
