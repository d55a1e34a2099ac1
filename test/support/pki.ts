/**
 * A throwaway PKI built by the real `openssl` CLI in a temp dir, fresh for
 * every call: roots, intermediates, leaves and delegated OCSP responders with
 * exactly the extensions and validity a test asks for, plus the index that
 * `openssl ocsp` answers from. Real certificates make the engine's tests
 * meet the same bytes a production CA would send.
 *
 * Every certificate, the root included, is signed by `openssl ca` because on
 * OpenSSL 3.0 it is the one signing command with absolute dates
 * (`-startdate/-enddate`); `x509 -not_before/-not_after` only arrived in 3.4.
 */
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { isAbsolute, join } from "node:path";
import { indexSerial, writeIndexFile, type IndexEntry, type RevocationReason } from "./pki-index.ts";
import { generalizedTime, generateKey, runOpenssl, signingDigest, type KeyKind } from "./pki-openssl.ts";
import { makeTempDir, removeTempDir } from "./tmp.ts";

export type { KeyKind } from "./pki-openssl.ts";
export { indexLine, indexSerial, writeIndexFile, type IndexEntry, type RevocationReason } from "./pki-index.ts";

/** Validity of a new certificate; dates are truncated to whole seconds, as X.509 stores them. */
export interface Validity {
  /** Default: one hour ago, so a fresh certificate is valid despite small clock differences. */
  readonly notBefore?: Date;
  /** Default: `notBefore` + `days`. */
  readonly notAfter?: Date;
  /** Lifetime when `notAfter` is not given. Default: 30 for end entities, 3650 for CAs. */
  readonly days?: number;
}

/** A certificate and its key, both as PEM text and as files for the openssl CLI. */
export interface Issued {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certPath: string;
  readonly keyPath: string;
  /** Lower-case hex without leading zeros, e.g. `"1a2b"`. */
  readonly serialHex: string;
  readonly keyKind: KeyKind;
  /** One-line subject as OpenSSL's index writes it, e.g. `/CN=leaf`. */
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface LeafOptions extends Validity {
  readonly commonName: string;
  /** Default: `p256`. */
  readonly key?: KeyKind;
  /** Put into the AIA extension as the OCSP access method. */
  readonly ocspUrl?: string;
  /** Put into the AIA extension as the caIssuers access method. */
  readonly caIssuersUrl?: string;
  /** Adds the TLS Feature extension with status_request (RFC 7633). */
  readonly mustStaple?: boolean;
  /** subjectAltName entries in openssl syntax. Default: `["DNS:localhost", "IP:127.0.0.1"]`. */
  readonly san?: readonly string[];
  /** Default: 16 random bytes. */
  readonly serialHex?: string;
}

export interface ResponderOptions extends Validity {
  readonly commonName: string;
  /** Default: `p256`. */
  readonly key?: KeyKind;
  /**
   * Default true: extendedKeyUsage id-kp-OCSPSigning plus id-pkix-ocsp-nocheck,
   * a proper RFC 6960 §4.2.2.2 delegate. False leaves out both, making a
   * certificate that must not be accepted as a responder.
   */
  readonly ocspSigning?: boolean;
  readonly serialHex?: string;
}

export interface IntermediateOptions extends Validity {
  /** The common name, also the directory's label. */
  readonly name: string;
  /** Default: the issuing CA's key kind. */
  readonly key?: KeyKind;
  /** AIA OCSP URL of the intermediate itself, where its parent answers for it. */
  readonly ocspUrl?: string;
  readonly caIssuersUrl?: string;
  readonly serialHex?: string;
}

export interface RootOptions extends Validity {
  /** The common name, also the temp directory's label. */
  readonly name: string;
  readonly key: KeyKind;
  /** Where to build the CA; default a new temp directory. */
  readonly dir?: string;
  readonly serialHex?: string;
}

/** A CA that can issue; its own certificate and key are the `Issued` fields. */
export interface TestCa extends Issued {
  readonly name: string;
  /** Holds the CA's files, its `openssl ca` database and everything it issued. */
  readonly dir: string;
  /** A TLS server certificate (CA:FALSE, serverAuth). */
  issue(options: LeafOptions): Promise<Issued>;
  /** A delegated OCSP responder certificate. */
  issueResponder(options: ResponderOptions): Promise<Issued>;
  /** A subordinate CA, kept in a sub-directory of this one. */
  issueIntermediate(options: IntermediateOptions): Promise<TestCa>;
  /**
   * Writes an index for `openssl ocsp -index` and returns its path; `fileName`
   * is relative to `dir` unless absolute. Default `ocsp-index.txt`.
   * A running responder still answers one more request from the old index:
   * see `OpensslResponder.reloadIndex`.
   */
  writeIndex(entries: readonly IndexEntry[], fileName?: string): Promise<string>;
  /** Deletes `dir` and everything in it. */
  cleanup(): Promise<void>;
}

/** An index entry saying `cert` is good. */
export function goodEntry(cert: Issued): IndexEntry {
  return { serialHex: cert.serialHex, status: "good", expires: cert.notAfter, subject: cert.subject };
}

/** An index entry saying `cert` was revoked at `revokedAt`, for `reason` if given. */
export function revokedEntry(cert: Issued, revokedAt: Date, reason?: RevocationReason): IndexEntry {
  const base = { serialHex: cert.serialHex, status: "revoked", revokedAt, expires: cert.notAfter, subject: cert.subject } as const;
  return reason === undefined ? base : { ...base, reason };
}

/** Creates a self-signed root CA. */
export async function createRootCa(options: RootOptions): Promise<TestCa> {
  const dir = options.dir ?? (await makeTempDir(slug(options.name)));
  await initCaDir(dir);
  const keyPath = join(dir, "ca.key");
  await generateKey(options.key, keyPath);
  const signer: Signer = { dir, keyPath, keyKind: options.key, lock: serialized() };
  const cert = await sign(signer, {
    commonName: options.name,
    keyPath,
    keyKind: options.key,
    certPath: join(dir, "ca.pem"),
    extensions: caExtensions({}),
    validity: options,
    defaultDays: 3650,
    serialHex: options.serialHex,
  });
  return makeCa(options.name, dir, cert, signer.lock);
}

// ---------------------------------------------------------------------------
// CA objects

/** What signs: a CA directory (with its `openssl ca` database), its key and, unless self-signing, its certificate. */
interface Signer {
  readonly dir: string;
  readonly keyPath: string;
  readonly keyKind: KeyKind;
  readonly certPath?: string;
  /** `openssl ca` rewrites its database and serial file: one issuance at a time per CA. */
  readonly lock: Lock;
}

type Lock = <T>(task: () => Promise<T>) => Promise<T>;

function serialized(): Lock {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task);
    tail = run.catch(() => undefined);
    return run;
  };
}

function makeCa(name: string, dir: string, cert: Issued, lock: Lock): TestCa {
  const signer: Signer = { dir, keyPath: cert.keyPath, keyKind: cert.keyKind, certPath: cert.certPath, lock };
  return {
    ...cert,
    name,
    dir,
    issue: (options) => issueEndEntity(signer, options, leafExtensions(options)),
    issueResponder: (options) => issueEndEntity(signer, options, responderExtensions(options)),
    issueIntermediate: (options) => issueIntermediate(signer, options),
    writeIndex: (entries, fileName = "ocsp-index.txt") =>
      writeIndexFile(isAbsolute(fileName) ? fileName : join(dir, fileName), entries),
    cleanup: () => removeTempDir(dir),
  };
}

async function issueEndEntity(
  signer: Signer,
  options: Validity & { commonName: string; key?: KeyKind; serialHex?: string },
  extensions: readonly string[],
): Promise<Issued> {
  const serialHex = options.serialHex ?? randomSerial();
  const keyKind = options.key ?? "p256";
  const base = join(signer.dir, "issued", `${slug(options.commonName)}-${normalSerial(serialHex)}`);
  await mkdir(join(signer.dir, "issued"), { recursive: true });
  await generateKey(keyKind, `${base}.key`);
  return sign(signer, {
    commonName: options.commonName,
    keyPath: `${base}.key`,
    keyKind,
    certPath: `${base}.pem`,
    extensions,
    validity: options,
    defaultDays: 30,
    serialHex,
  });
}

async function issueIntermediate(parent: Signer, options: IntermediateOptions): Promise<TestCa> {
  const dir = await mkdtemp(join(parent.dir, `${slug(options.name)}-`));
  await initCaDir(dir);
  const keyKind = options.key ?? parent.keyKind;
  const keyPath = join(dir, "ca.key");
  await generateKey(keyKind, keyPath);
  const cert = await sign(parent, {
    commonName: options.name,
    keyPath,
    keyKind,
    certPath: join(dir, "ca.pem"),
    extensions: caExtensions(options),
    validity: options,
    defaultDays: 3650,
    serialHex: options.serialHex,
  });
  return makeCa(options.name, dir, cert, serialized());
}

// ---------------------------------------------------------------------------
// Extensions (openssl x509v3_config syntax)

function aiaLines(urls: { ocspUrl?: string; caIssuersUrl?: string }): string[] {
  const methods = [
    ...(urls.ocspUrl === undefined ? [] : [`OCSP;URI:${urls.ocspUrl}`]),
    ...(urls.caIssuersUrl === undefined ? [] : [`caIssuers;URI:${urls.caIssuersUrl}`]),
  ];
  return methods.length === 0 ? [] : [`authorityInfoAccess = ${methods.join(",")}`];
}

function caExtensions(options: { ocspUrl?: string; caIssuersUrl?: string }): string[] {
  return [
    "basicConstraints = critical,CA:TRUE",
    "keyUsage = critical,keyCertSign,cRLSign,digitalSignature",
    "subjectKeyIdentifier = hash",
    ...aiaLines(options),
  ];
}

function leafExtensions(options: LeafOptions): string[] {
  return [
    "basicConstraints = critical,CA:FALSE",
    "keyUsage = critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage = serverAuth",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
    `subjectAltName = ${(options.san ?? ["DNS:localhost", "IP:127.0.0.1"]).join(",")}`,
    ...aiaLines(options),
    ...(options.mustStaple === true ? ["tlsfeature = status_request"] : []),
  ];
}

function responderExtensions(options: ResponderOptions): string[] {
  return [
    "basicConstraints = critical,CA:FALSE",
    "keyUsage = critical,digitalSignature",
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
    ...(options.ocspSigning === false ? [] : ["extendedKeyUsage = OCSPSigning", "noCheck = ignored"]),
  ];
}

// ---------------------------------------------------------------------------
// Signing with `openssl ca`

interface CertRequest {
  readonly commonName: string;
  readonly keyPath: string;
  readonly keyKind: KeyKind;
  readonly certPath: string;
  readonly extensions: readonly string[];
  readonly validity: Validity;
  readonly defaultDays: number;
  readonly serialHex: string | undefined;
}

/** The `openssl ca` configuration: relative paths, because `$` in an absolute temp path would be read as a variable. */
const CA_CONFIG = `[ca]
default_ca = CA_default
[CA_default]
database = db/index.txt
new_certs_dir = db/certs
serial = db/serial
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
default_md = sha256
[policy_any]
commonName = supplied
[req]
distinguished_name = req_dn
prompt = no
[req_dn]
`;

async function initCaDir(dir: string): Promise<void> {
  await mkdir(join(dir, "db", "certs"), { recursive: true });
  await writeFile(join(dir, "ca.cnf"), CA_CONFIG);
  await writeFile(join(dir, "db", "index.txt"), "");
  await writeFile(join(dir, "db", "index.txt.attr"), "unique_subject = no\n");
}

/** Creates a CSR for the request's key, then has `signer` certify it with exact dates and serial. */
async function sign(signer: Signer, request: CertRequest): Promise<Issued> {
  const serialHex = normalSerial(request.serialHex ?? randomSerial());
  const { notBefore, notAfter } = resolveValidity(request.validity, request.defaultDays);
  const csrPath = `${request.certPath}.csr`;
  const extPath = `${request.certPath}.ext.cnf`;
  await runOpenssl(["req", "-new", "-config", join(signer.dir, "ca.cnf"), "-key", request.keyPath, "-subj", subjectArg(request.commonName), "-out", csrPath]);
  await writeFile(extPath, `[ext]\n${request.extensions.map(escapeConfigValue).join("\n")}\n`);
  await signer.lock(async () => {
    await writeFile(join(signer.dir, "db", "serial"), `${indexSerial(serialHex)}\n`);
    await runOpenssl([...caArgs(signer), "-in", csrPath, "-out", request.certPath, "-extfile", extPath, "-extensions", "ext",
      "-startdate", generalizedTime(notBefore), "-enddate", generalizedTime(notAfter)], signer.dir);
  });
  const [certPem, keyPem] = await Promise.all([readFile(request.certPath, "utf8"), readFile(request.keyPath, "utf8")]);
  const subject = `/CN=${request.commonName}`;
  return { certPem, keyPem, certPath: request.certPath, keyPath: request.keyPath, serialHex, keyKind: request.keyKind, subject, notBefore, notAfter };
}

function caArgs(signer: Signer): string[] {
  const issuer = signer.certPath === undefined ? ["-selfsign"] : ["-cert", signer.certPath];
  return ["ca", "-config", "ca.cnf", "-batch", "-notext", "-preserveDN", "-md", signingDigest(signer.keyKind), "-keyfile", signer.keyPath, ...issuer];
}

function resolveValidity(validity: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const notBefore = wholeSeconds(validity.notBefore ?? new Date(Date.now() - 3_600_000));
  const days = validity.days ?? defaultDays;
  const notAfter = wholeSeconds(validity.notAfter ?? new Date(notBefore.getTime() + days * 86_400_000));
  return { notBefore, notAfter };
}

function wholeSeconds(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

/** A positive 16-byte serial with its top byte non-zero, like a public CA's. */
function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString("hex");
}

function normalSerial(serialHex: string): string {
  const normal = indexSerial(serialHex).toLowerCase().replace(/^0+/, "");
  if (normal === "") {
    throw new Error("a certificate serial must not be zero");
  }
  return normal;
}

/** `-subj` syntax: `/` separates RDNs, `+` joins them, `\` escapes. */
function subjectArg(commonName: string): string {
  if (/[\p{Cc}]/u.test(commonName)) {
    throw new Error(`control characters in a test subject: ${JSON.stringify(commonName)}`);
  }
  return `/CN=${commonName.replace(/[\\/+=]/g, (c) => `\\${c}`)}`;
}

/** Config values expand `$name`; test URLs never mean that. */
function escapeConfigValue(line: string): string {
  return line.replace(/\$/g, "\\$");
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40) || "cert";
}
