import { readChain } from "../ocsp/chain.ts";
import { DEFAULT_HTTP_LIMITS } from "../ocsp/http-transport.ts";
import { OcspClient } from "../ocsp/ocsp-client.ts";
import { readCertificates } from "../ocsp/pem.ts";
import { choiceFlag, parseCommandLine, requiredFlag, secondsFlag, stringFlag } from "./args.ts";
import type { CommandContext, CommandOutcome } from "./command-context.ts";
import { exitFor } from "./exit-status.ts";
import { fetchChain } from "./fetch-chain.ts";
import { readInputFile } from "./load-files.ts";
import { verifiedReport } from "./report.ts";
import { UsageError } from "./usage-error.ts";
import { writeOutputFile } from "./write-file.ts";

export const FETCH_HELP = `Usage: ocsp-stapler fetch --cert CHAIN.pem [options]

Gets an OCSP response for the first certificate in CHAIN.pem from its
responder, verifies it, and optionally writes it as a staple file.
With --chain full, does the same for each intermediate in CHAIN.pem too.

Options:
  --cert FILE       PEM chain: the leaf first, then intermediates (as in tls.crt)
  --issuer FILE     the issuer certificate(s), when the chain does not hold them
  --url URL         ask this responder instead of the leaf's AIA OCSP URL
  --out FILE        write the verified DER response here (good or revoked only);
                    with --chain full, a PEM bundle of every element's response
                    ("-----BEGIN OCSP RESPONSE-----" blocks, leaf first), written
                    only when every element is good or revoked
  --chain C         leaf (default): the leaf's status only; full: the leaf's and
                    each intermediate's (never the root's), at most 8 certificates
  --out-dir DIR     with --chain full: one DER file per element that is good or
                    revoked: DIR/0-leaf.der, DIR/1-intermediate.der, ...
  --timeout S       give up after S seconds (default 10)
  --method M        Auto (GET when small, RFC 5019), GET or POST (default Auto)
  --hash H          CertID hash: sha1 (default, RFC 5019) or sha256
  --nonce           send a nonce and require the response to echo it
  --json            print one JSON object instead of a summary
  -h, --help        show this help

Exit status: 0 verified good, 1 verified revoked or unknown, 2 any failure.
With --chain full: 0 when every element is a verified good, 2 when any element
failed, otherwise 1 (all verified, some revoked or unknown).
`;

const OPTIONS = {
  cert: { type: "string" }, issuer: { type: "string" }, url: { type: "string" }, out: { type: "string" },
  timeout: { type: "string" }, method: { type: "string" }, hash: { type: "string" }, nonce: { type: "boolean" }, json: { type: "boolean" },
  chain: { type: "string" }, "out-dir": { type: "string" },
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
  const chainMode = choiceFlag(values, "chain", ["leaf", "full"] as const) ?? "leaf";
  const out = stringFlag(values, "out");
  const outDir = stringFlag(values, "out-dir");
  if (outDir !== undefined && chainMode !== "full") throw new UsageError("--out-dir needs --chain full");
  const client = new OcspClient({ transport: context.transport(), clock: context.clock });
  const options = {
    chain: readChain(readInputFile(certPath, "the certificate chain")),
    ...(issuerPath === undefined ? {} : { explicitIssuers: readCertificates(readInputFile(issuerPath, "the issuer"), issuerPath) }),
    ...(urlOverride === undefined ? {} : { urlOverride }),
    ...(method === undefined ? {} : { method }),
    ...(hashAlgorithm === undefined ? {} : { hashAlgorithm }),
    withNonce: values.nonce === true,
    timeoutMs,
  };
  if (chainMode === "full") return fetchChain(client, options, { ...(out === undefined ? {} : { out }), ...(outDir === undefined ? {} : { outDir }) });
  const staple = await client.fetchStaple(options);
  const writes = out !== undefined && staple.certStatus.kind !== "unknown";
  // `unknown` is never stapled (DESIGN.md): the file is written only for good and revoked.
  if (writes) writeOutputFile(out, staple.der);
  const written = writes ? { out } : {};
  return { report: verifiedReport(staple, { responder: staple.responder, issuerSource: staple.issuerSource, ...written }), exit: exitFor(staple.certStatus) };
}
