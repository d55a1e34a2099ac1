import { spawnSync } from "node:child_process";

/** A program from Debian's packages that tests drive for real (.ci/run installs each one). */
export interface Program {
  /** How the skip reason names it. */
  readonly name: string;
  /** Where Debian puts it, first match wins. */
  readonly paths: readonly string[];
  /** Arguments that make it print its version (or help) and exit. */
  readonly probe: readonly string[];
  /** The probe exits non-zero even when the program works (`certutil -H`). */
  readonly anyStatus?: boolean;
  /** The Debian package that brings it. */
  readonly apt: string;
}

export const NGINX: Program = { name: "nginx", paths: ["/usr/sbin/nginx", "/usr/local/sbin/nginx"], probe: ["-v"], apt: "nginx-light" };
export const APACHE: Program = { name: "Apache httpd", paths: ["/usr/sbin/apache2", "/usr/local/sbin/apache2"], probe: ["-v"], apt: "apache2" };
export const HAPROXY: Program = { name: "haproxy", paths: ["/usr/sbin/haproxy", "/usr/local/sbin/haproxy"], probe: ["-v"], apt: "haproxy" };
export const EXIM: Program = { name: "Exim", paths: ["/usr/sbin/exim4", "/usr/sbin/exim"], probe: ["-bV"], apt: "exim4-daemon-light" };
export const FIREFOX: Program = { name: "firefox-esr", paths: ["/usr/bin/firefox-esr", "/usr/lib/firefox-esr/firefox-esr"], probe: ["--version"], apt: "firefox-esr" };
export const OCSPTOOL: Program = { name: "ocsptool (GnuTLS)", paths: ["/usr/bin/ocsptool"], probe: ["--version"], apt: "gnutls-bin" };
/** GnuTLS's command-line client: the one client that receives and checks every staple of a TLS 1.3 chain. */
export const GNUTLS_CLI: Program = { name: "gnutls-cli", paths: ["/usr/bin/gnutls-cli", "/usr/local/bin/gnutls-cli"], probe: ["--version"], apt: "gnutls-bin" };
export const CURL: Program = { name: "curl", paths: ["/usr/bin/curl", "/usr/local/bin/curl"], probe: ["--version"], apt: "curl" };
export const CERTUTIL: Program = { name: "certutil", paths: ["/usr/bin/certutil"], probe: ["-H"], anyStatus: true, apt: "libnss3-tools" };

/** util-linux's script(1): runs a command on a pseudo-terminal (what `status` colours for). Essential on Debian. */
export const SCRIPT: Program = { name: "script", paths: ["/usr/bin/script"], probe: ["--version"], apt: "bsdutils" };

const found = new Map<Program, string | undefined>();

/** Where the program is, or undefined when it is not installed (looked up once per test process). */
export function findProgram(program: Program): string | undefined {
  if (!found.has(program)) {
    found.set(program, program.paths.find((path) => {
      const result = spawnSync(path, program.probe, { stdio: "ignore", timeout: 10_000 });
      return result.error === undefined && (program.anyStatus === true || result.status === 0);
    }));
  }
  return found.get(program);
}

/**
 * node:test's `skip` for tests that need these programs. Outside CI a missing
 * one skips them, saying what to install; in CI (`CI` set) nothing is skipped,
 * so a missing program fails the tests instead of hiding them.
 */
export function skipUnlessInstalled(...programs: Program[]): string | false {
  const missing = programs.filter((program) => findProgram(program) === undefined);
  if (missing.length === 0 || process.env.CI !== undefined) return false;
  return `not installed: ${missing.map((program) => program.name).join(", ")} (apt-get install ${missing.map((program) => program.apt).join(" ")})`;
}
