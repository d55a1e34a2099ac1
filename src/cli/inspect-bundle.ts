import { fetchCaIssuers } from "../ocsp/ca-issuers.ts";
import { readChain } from "../ocsp/chain.ts";
import { verifyChainStaples } from "../ocsp/chain-verify.ts";
import { isOcspError } from "../ocsp/errors.ts";
import { readCertificates } from "../ocsp/pem.ts";
import { readResponseBundle } from "../ocsp/response-bundle.ts";
import { elementReport, exitForElements, type ChainReport, type ElementReport } from "./chain-report.ts";
import type { CommandContext, CommandOutcome } from "./command-context.ts";
import { decodedReport } from "./decoded-report.ts";
import { readInputFile } from "./load-files.ts";

export interface BundleInspection {
  readonly at: Date;
  /** The chain the responses are about (leaf first); without it each response is only decoded. */
  readonly certPath?: string;
  readonly issuerPath?: string;
}

/**
 * `inspect` of a bundle (PEM blocks, leaf first, as `fetch --chain full
 * --out` writes): response i is verified against element i of the chain, at
 * `at`, and each is reported on its own, as `fetch --chain full` reports them.
 */
export async function inspectBundle(input: Uint8Array, label: string, context: CommandContext, options: BundleInspection): Promise<CommandOutcome> {
  const responses = readResponseBundle(input, label);
  const elements = options.certPath === undefined ? responses.map(decodedElement) : await verifiedElements(responses, options.certPath, context, options);
  const report: ChainReport = { ok: elements.every((element) => element.ok), chain: "full", elements };
  return { report, exit: exitForElements(elements), at: options.at };
}

async function verifiedElements(responses: readonly Uint8Array[], certPath: string, context: CommandContext, options: BundleInspection): Promise<ElementReport[]> {
  const { issuerPath, at } = options;
  const results = await verifyChainStaples(responses, {
    chain: readChain(readInputFile(certPath, "the certificate chain")),
    ...(issuerPath === undefined ? {} : { explicitIssuers: readCertificates(readInputFile(issuerPath, "the issuer"), issuerPath) }),
    download: (url) => fetchCaIssuers(context.transport(), url),
    at,
  });
  return results.map((result) => elementReport(result, (staple) => staple.response, (staple) => ({ at: at.toISOString(), issuerSource: staple.issuer.source })));
}

/** Without a chain, block i is taken to be about element i by the bundle's order only: nothing is verified. */
function decodedElement(der: Uint8Array, index: number): ElementReport {
  const role = index === 0 ? "leaf" : "intermediate";
  try {
    return { index, role, ...decodedReport(der).report };
  } catch (error) {
    if (!isOcspError(error)) throw error;
    return { index, role, ok: false, error: { code: error.code, message: error.message } };
  }
}
