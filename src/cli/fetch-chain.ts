import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ChainFetchOptions, ChainFetchResult } from "../ocsp/chain-fetch.ts";
import { fail, messageOf } from "../ocsp/errors.ts";
import type { OcspClient } from "../ocsp/ocsp-client.ts";
import { encodeResponseBundle } from "../ocsp/response-bundle.ts";
import { elementReport, exitForElements, type ChainReport } from "./chain-report.ts";
import type { CommandOutcome } from "./command-context.ts";
import { writeOutputFile } from "./write-file.ts";

/** Where `fetch --chain full` writes: a PEM bundle (`--out`), one DER file per element (`--out-dir`), both or neither. */
export interface ChainOutputs {
  readonly out?: string;
  readonly outDir?: string;
}

/**
 * The file of element `index` in `--out-dir`: `0-leaf.der`, then
 * `1-intermediate.der`, `2-intermediate.der`… in chain order, so a script
 * (or a server's config) can name each one without reading them.
 */
export function elementFileName(index: number, role: string): string {
  return `${index}-${role}.der`;
}

/**
 * `fetch --chain full`: every element's staple (see fetchChainStaples), each
 * written under `--out-dir` when it may be stapled, the bundle under `--out`
 * when every element may be, and one report listing them all.
 */
export async function fetchChain(client: OcspClient, options: Omit<ChainFetchOptions, "download">, outputs: ChainOutputs): Promise<CommandOutcome> {
  const results = await client.fetchChainStaples(options);
  const files = outputs.outDir === undefined ? new Map<number, string>() : writeElementFiles(outputs.outDir, results);
  const elements = results.map((result) => elementReport(result, (staple) => staple, (staple) => ({
    responder: staple.responder,
    issuerSource: staple.issuerSource,
    ...(files.has(result.index) ? { out: files.get(result.index) } : {}),
  })));
  const report: ChainReport = { ok: results.every((result) => result.ok), chain: "full", elements, ...(outputs.out === undefined ? {} : writeBundle(outputs.out, results)) };
  return { report, exit: exitForElements(elements) };
}

/** As for a single staple, only a verified good or revoked answer is written; `unknown` never is (DESIGN.md). */
function stapleable(result: ChainFetchResult): boolean {
  return result.ok && result.staple.certStatus.kind !== "unknown";
}

function writeElementFiles(dir: string, results: readonly ChainFetchResult[]): Map<number, string> {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    fail("BadInput", `cannot create the directory "${dir}" (${messageOf(error)})`, error);
  }
  const written = new Map<number, string>();
  for (const result of results) {
    if (!result.ok || !stapleable(result)) continue;
    const path = join(dir, elementFileName(result.index, result.role));
    writeOutputFile(path, result.staple.der);
    written.set(result.index, path);
  }
  return written;
}

/**
 * The bundle holds every element's response, leaf first, or is not written:
 * a reader (inspect, the operator) matches block i to element i, which a
 * gap would break, and a server given part of a chain's bundle cannot tell.
 */
function writeBundle(path: string, results: readonly ChainFetchResult[]): Pick<ChainReport, "out" | "outSkipped"> {
  const missing = results.find((result) => !stapleable(result));
  if (missing !== undefined) {
    const why = missing.ok ? "is unknown, which is never stapled" : `failed (${missing.error.code})`;
    return { outSkipped: `element ${missing.index} (${missing.role}) ${why}` };
  }
  writeOutputFile(path, encodeResponseBundle(results.flatMap((result) => result.ok ? [result.staple.der] : [])), "the staple bundle");
  return { out: path };
}
