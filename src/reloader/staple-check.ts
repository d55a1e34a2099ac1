import { readFileSync, readlinkSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { readChain, type Chain } from "../ocsp/chain.ts";
import type { Certificate } from "../ocsp/certificate.ts";
import { fail, isOcspError, messageOf } from "../ocsp/errors.ts";
import { readCertificates } from "../ocsp/pem.ts";
import type { VerificationCache } from "../ocsp/verification-cache.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import { verifyStaple } from "../ocsp/verify-staple.ts";
import type { ReloaderReason } from "../staple/reasons.ts";
import type { StaplePair } from "./staple-pair.ts";

/** What a staple on disk is worth right now. */
export type StapleCheck =
  | { readonly kind: "verified"; readonly response: VerifiedResponse }
  | { readonly kind: "missing" }
  | { readonly kind: "rejected"; readonly reason: ReloaderReason; readonly message: string; readonly der?: Uint8Array };

/**
 * Reads the pair's chain and staple and verifies the staple for the chain's
 * leaf at `at`, exactly as `inspect --cert` does: the issuer is the next
 * certificate in the chain, else one in `ca.crt` beside it, else one of the
 * `--issuer` files. Nothing is downloaded: a sidecar should not depend on a
 * CA's AIA server to keep serving. A missing staple file is "missing" (the
 * operator deletes the companion Secret when a staple's usable window ends);
 * everything else that is wrong is "rejected" with a stable code. Never throws.
 * `cache`: the process's, so an unchanged staple is signature-checked once,
 * not at every poll.
 */
export async function checkStaple(pair: StaplePair, explicitIssuers: readonly Certificate[], at: Date, cache?: VerificationCache): Promise<StapleCheck> {
  let der: Uint8Array | undefined;
  const paths = consistentPaths(pair);
  try {
    der = readOptional(paths.staplePath, MAX_STAPLE_BYTES);
  } catch (error) {
    return rejected(error);
  }
  return der === undefined ? { kind: "missing" } : checkDer(der, paths, explicitIssuers, at, cache);
}

/** Verifies staple bytes already read (the nginx target's installed copy is re-checked this way). */
export async function checkDer(der: Uint8Array, pair: StaplePair, explicitIssuers: readonly Certificate[], at: Date, cache?: VerificationCache): Promise<StapleCheck> {
  try {
    const chain = readPairChain(pair);
    if (der.length === 0) fail("MalformedResponse", `the staple "${pair.staplePath}" is empty`);
    // No `download`: see checkStaple.
    const { response } = await verifyStaple(der, { chain, explicitIssuers, at, ...(cache === undefined ? {} : { cache }) });
    // verifyResponse allows a few minutes of clock skew past nextUpdate; serving is stricter, as the operator's withdrawal is.
    if (response.usableUntil <= at) {
      return { kind: "rejected", reason: "Expired", message: `the staple's usable window ended at ${response.usableUntil.toISOString()}`, der };
    }
    if (response.certStatus.kind === "unknown") {
      return { kind: "rejected", reason: "CertStatusUnknown", message: `the responder does not know serial ${response.serial}: an "unknown" answer is never stapled`, der };
    }
    return { kind: "verified", response };
  } catch (error) {
    return rejected(error, der);
  }
}

/** The pair's tls.crt and, when there is one beside it, ca.crt. */
function readPairChain(pair: StaplePair): Chain {
  const chainBytes = readOptional(pair.certPath, MAX_PEM_BYTES) ?? fail("BadInput", `the certificate chain "${pair.certPath}" does not exist`);
  const caCrt = readOptional(pair.caCrtPath, MAX_PEM_BYTES);
  return { ...readChain(chainBytes), extraCas: caCrt === undefined ? [] : readCertificates(caCrt, pair.caCrtPath) };
}

/** `der`: the refused bytes, so the caller reports one bad file once, not at every poll. */
function rejected(error: unknown, der?: Uint8Array): StapleCheck {
  return { kind: "rejected", reason: isOcspError(error) ? error.code : "BadInput", message: messageOf(error), ...(der === undefined ? {} : { der }) };
}

/** A Secret can hold at most 1 MiB; a staple is a few KiB. Anything bigger is not what was mounted. */
const MAX_STAPLE_BYTES = 64 * 1024;
const MAX_PEM_BYTES = 1024 * 1024;

/**
 * The pair's paths, read through one `..data` target when the certificate and
 * the staple share a kubelet volume: a swap between the two reads would pair
 * an old staple with a new certificate (or the reverse) and refuse both.
 */
function consistentPaths(pair: StaplePair): StaplePair {
  const dir = dirname(pair.certPath);
  if (dirname(pair.staplePath) !== dir) return pair;
  let data: string;
  try {
    data = resolve(dir, readlinkSync(join(dir, "..data")));
  } catch {
    return pair;
  }
  const through = (path: string) => join(data, basename(path));
  return { ...pair, certPath: through(pair.certPath), caCrtPath: through(pair.caCrtPath), staplePath: through(pair.staplePath) };
}

/**
 * The file's bytes, or undefined when it does not exist (a dangling kubelet
 * symlink counts as absent). Only a regular file of at most `maxBytes` is
 * read: a FIFO would block the loop (and /healthz with it), a huge file its memory.
 */
function readOptional(path: string, maxBytes: number): Uint8Array | undefined {
  try {
    const stats = statSync(path);
    if (!stats.isFile()) return fail("BadInput", `"${path}" is not a regular file`);
    if (stats.size > maxBytes) return fail("BadInput", `"${path}" has ${stats.size} bytes, more than the ${maxBytes} a mounted ${maxBytes === MAX_STAPLE_BYTES ? "staple" : "certificate file"} can have`);
    return new Uint8Array(readFileSync(path));
  } catch (error) {
    if (isOcspError(error)) throw error;
    if (error instanceof Error && "code" in error && (error.code === "ENOENT" || error.code === "ENOTDIR")) return undefined;
    return fail("BadInput", `cannot read "${path}" (${messageOf(error)})`, error);
  }
}
