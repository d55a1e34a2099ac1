/**
 * The thin layer between the test PKI and the `openssl` command line: running
 * it, generating keys, and the time formats its `ca` and `ocsp` commands read.
 * Fixtures shell out to the real tool (rather than minting certificates with
 * the code under test) so that a bug in our ASN.1 handling cannot hide itself.
 */
import { execFile } from "node:child_process";

/** The binary to run; `OPENSSL` overrides it (e.g. to try a newer build). */
export const OPENSSL = process.env.OPENSSL ?? "openssl";

/** What the test PKI can generate. `rsa-pss` is the RSASSA-PSS key type: everything it signs uses PSS. */
export type KeyKind = "rsa2048" | "p256" | "p384" | "p521" | "ed25519" | "rsa-pss";

export interface OpensslOutput {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The environment for openssl, without proxy variables: `openssl ocsp -url`
 * honours `http_proxy`, and a developer's proxy must not intercept loopback.
 */
export function opensslEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/_proxy$/i.test(key)));
}

export interface OpensslRun extends OpensslOutput {
  /** The exit status; -1 when openssl was killed or could not start. */
  readonly code: number;
}

/** Runs openssl and reports how it ended, never rejecting: for callers that expect failures. */
export function execOpenssl(args: readonly string[], cwd?: string): Promise<OpensslRun> {
  const options = { ...(cwd === undefined ? {} : { cwd }), env: opensslEnv(), encoding: "utf8", maxBuffer: 16 * 1024 * 1024, timeout: 30_000 } as const;
  return new Promise((resolve) => {
    execFile(OPENSSL, args, options, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      resolve({ code, stdout, stderr: error !== null && stderr === "" ? error.message : stderr });
    });
  });
}

/** Runs openssl; on failure the error names the command and carries its stderr, which is where openssl explains itself. */
export async function runOpenssl(args: readonly string[], cwd?: string): Promise<OpensslOutput> {
  const run = await execOpenssl(args, cwd);
  if (run.code !== 0) {
    throw new Error(`openssl ${args.join(" ")} failed (${String(run.code)}):\n${run.stderr}`);
  }
  return run;
}

const KEYGEN_ARGS: Readonly<Record<KeyKind, readonly string[]>> = {
  rsa2048: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
  "rsa-pss": ["-algorithm", "RSA-PSS", "-pkeyopt", "rsa_keygen_bits:2048"],
  p256: ecKeygen("P-256"),
  p384: ecKeygen("P-384"),
  p521: ecKeygen("P-521"),
  ed25519: ["-algorithm", "ED25519"],
};

function ecKeygen(curve: string): readonly string[] {
  return ["-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${curve}`, "-pkeyopt", "ec_param_enc:named_curve"];
}

/** Writes a fresh unencrypted PKCS#8 key of `kind` to `keyPath`. */
export async function generateKey(kind: KeyKind, keyPath: string): Promise<void> {
  await runOpenssl(["genpkey", ...KEYGEN_ARGS[kind], "-out", keyPath]);
}

/**
 * The `-md` a signer of `kind` uses: a digest matching the curve's strength,
 * and `default` for Ed25519, which hashes internally and refuses a digest.
 */
export function signingDigest(kind: KeyKind): string {
  switch (kind) {
    case "p384":
      return "sha384";
    case "p521":
      return "sha512";
    case "ed25519":
      return "default";
    default:
      return "sha256";
  }
}

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

function timeDigits(date: Date): string {
  return [date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()]
    .map(pad2)
    .join("");
}

/**
 * `YYYYMMDDHHMMSSZ`. `openssl ca -startdate/-enddate` accept it for any year
 * and still encode UTCTime for 1950..2049, as RFC 5280 requires.
 */
export function generalizedTime(date: Date): string {
  return `${String(date.getUTCFullYear()).padStart(4, "0")}${timeDigits(date)}Z`;
}

/** `YYMMDDHHMMSSZ`, the only form OpenSSL parses for an index's revocation date; years 1950..2049 only. */
export function utcTime(date: Date): string {
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 2049) {
    throw new RangeError(`UTCTime cannot express the year ${year}`);
  }
  return `${pad2(year % 100)}${timeDigits(date)}Z`;
}
