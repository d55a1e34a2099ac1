/**
 * A real browser for end-to-end tests: Debian's Firefox ESR, headless, driven
 * by puppeteer-core over WebDriver BiDi, in a fresh profile that trusts only
 * the test root a test hands it.
 *
 * What Firefox ESR 153 does here, measured:
 *
 * - puppeteer-core launches it with `browser: "firefox"` and an explicit
 *   `executablePath`; it needs no browser download.
 * - puppeteer writes its own `user.js` into the profile (keeping any file
 *   that was there as `user.js.puppeteer`), so the profile's prefs go in
 *   through `extraPrefsFirefox`, which lands in that same `user.js`.
 * - A failed navigation rejects `page.goto` with the NSS error in the BiDi
 *   message, e.g. `NS_ERROR_GENERATE_FAILURE(NS_ERROR_MODULE_SECURITY,
 *   MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING)`, and leaves the tab on
 *   `about:neterror?e=nssFailure2…`. That page draws itself a moment later,
 *   inside the shadow root of a `<net-error-card>`, ending in
 *   "Error Code: MOZILLA_PKIX_…": `body.innerText` stays empty, so the text
 *   is read from the light and shadow trees together.
 * - `security.OCSP.enabled` 0 keeps Firefox from asking the responder
 *   itself, so only the staple decides.
 */
import { spawnSync } from "node:child_process";
import { access, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import puppeteer, { type Browser } from "puppeteer-core";
import { CERTUTIL, FIREFOX, findProgram } from "./programs.ts";
import { makeTempDir, removeTempDir } from "./tmp.ts";

/** The Debian packages that provide what this file runs. */
const FIREFOX_APT_PACKAGES = `${FIREFOX.apt} ${CERTUTIL.apt}`;

/** Where Debian's Firefox ESR is, or undefined when it is not installed. */
export function firefoxBinary(): string | undefined {
  return findProgram(FIREFOX);
}

/** NSS's `certutil` (Debian: libnss3-tools), or undefined when it is not installed. */
export function certutilBinary(): string | undefined {
  return findProgram(CERTUTIL);
}


export interface VisitOptions {
  readonly url: string;
  /** PEM files of CAs to trust for TLS servers ("C,,"), e.g. the test root. */
  readonly trustedRoots: readonly string[];
  /** Where to write the PNG of what the tab shows, page or error page. */
  readonly screenshotPath: string;
  /** For the whole visit: launch, navigation, reading, screenshot. Default 30 s. */
  readonly timeoutMs?: number;
}

export type Visit =
  | {
      readonly outcome: "loaded";
      /** The page's visible text, trimmed. */
      readonly text: string;
      readonly screenshotPath: string;
    }
  | {
      readonly outcome: "error";
      /** The code the error page shows ("Error Code: …"), e.g. MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING. */
      readonly errorCode: string;
      /** The code named in the navigation's own error (BiDi `browsingContext.navigate`). */
      readonly navigationErrorCode: string | undefined;
      /** `about:neterror?e=…` */
      readonly errorPageUrl: string;
      /** The error page's visible text, shadow trees included. */
      readonly text: string;
      readonly screenshotPath: string;
    };

/**
 * Opens `url` once in a fresh headless Firefox with a fresh profile, then
 * closes it and deletes the profile. No certificate error is ever accepted
 * (`acceptInsecureCerts` stays false): only the trusted roots and the
 * server's handshake decide.
 */
export async function visitInFirefox(options: VisitOptions): Promise<Visit> {
  const executablePath = firefoxBinary();
  if (executablePath === undefined) throw new Error(`Firefox ESR is not installed (Debian: apt-get install ${FIREFOX_APT_PACKAGES})`);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(1_000, deadline - Date.now());
  const dir = await makeTempDir("firefox");
  let browser: Browser | undefined;
  try {
    const profile = join(dir, "profile");
    const home = join(dir, "home");
    await mkdir(profile);
    await mkdir(home);
    await trustRoots(profile, options.trustedRoots);
    browser = await puppeteer.launch({
      browser: "firefox",
      executablePath,
      headless: true,
      userDataDir: profile,
      acceptInsecureCerts: false,
      extraPrefsFirefox: PREFS,
      // Its own HOME and caches, so nothing lands in the user's; no proxy from the environment.
      env: { ...withoutProxies(process.env), HOME: home, XDG_CACHE_HOME: join(home, "cache"), XDG_CONFIG_HOME: join(home, "config") },
      timeout: left(),
      protocolTimeout: timeoutMs,
      handleSIGINT: true,
      handleSIGTERM: true,
      handleSIGHUP: true,
    });
    await assertPrefsApplied(profile);
    const page = await browser.newPage();
    page.setDefaultTimeout(left());
    let navigationError: Error | undefined;
    try {
      await page.goto(options.url, { waitUntil: "load", timeout: left() });
    } catch (error) {
      navigationError = error instanceof Error ? error : new Error(String(error));
    }
    if (navigationError === undefined) {
      const text = (await page.evaluate(bodyText)).trim();
      await page.screenshot({ path: options.screenshotPath, type: "png" });
      return { outcome: "loaded", text, screenshotPath: options.screenshotPath };
    }
    const navigationErrorCode = /\b((?:MOZILLA_PKIX_ERROR|SEC_ERROR|SSL_ERROR)_[A-Z0-9_]+)\b/.exec(navigationError.message)?.[1];
    // The error page renders after the navigation has failed: wait for its code to show.
    const handle = await page.waitForFunction(errorPageCode, { timeout: left(), polling: 100 }).catch((error: unknown) => {
      throw new Error(`navigation failed (${navigationError.message.split("\n")[0] ?? ""}) and no error page with a code showed up: ${String(error)}`);
    });
    const errorCode = String(await handle.jsonValue());
    await handle.dispose();
    const text = await page.evaluate(deepText);
    const errorPageUrl = await page.evaluate(documentUri);
    await page.screenshot({ path: options.screenshotPath, type: "png" });
    return { outcome: "error", errorCode, navigationErrorCode, errorPageUrl, text, screenshotPath: options.screenshotPath };
  } finally {
    if (browser !== undefined) await closeBrowser(browser);
    await removeTempDir(dir);
  }
}

const PREFS: Record<string, unknown> = {
  // Firefox must not ask the responder itself: only the staple decides.
  "security.OCSP.enabled": 0,
  // Firefox's defaults, spelled out because the test depends on them.
  "security.ssl.enable_ocsp_stapling": true,
  "security.ssl.enable_ocsp_must_staple": true,
  "network.proxy.type": 0,
};

async function trustRoots(profile: string, roots: readonly string[]): Promise<void> {
  const certutil = certutilBinary();
  if (certutil === undefined) throw new Error(`NSS certutil is not installed (Debian: apt-get install ${FIREFOX_APT_PACKAGES})`);
  const db = `sql:${profile}`;
  run(certutil, ["-N", "-d", db, "--empty-password"]);
  for (const [index, root] of roots.entries()) {
    await access(root);
    run(certutil, ["-A", "-d", db, "-n", `test-root-${index}`, "-t", "C,,", "-i", root]);
  }
}

function run(program: string, args: readonly string[]): void {
  const result = spawnSync(program, args, { encoding: "utf8", timeout: 30_000 });
  if (result.status !== 0) {
    throw new Error(`${program} ${args.join(" ")} failed (${String(result.status ?? result.signal)}): ${result.stderr}${result.stdout}`);
  }
}

async function assertPrefsApplied(profile: string): Promise<void> {
  const userJs = await readFile(join(profile, "user.js"), "utf8");
  if (!userJs.includes('user_pref("security.OCSP.enabled", 0);')) {
    throw new Error(`the profile's user.js does not turn off OCSP fetching:\n${userJs}`);
  }
}

function withoutProxies(env: NodeJS.ProcessEnv): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !/_proxy$/i.test(key)));
}

/**
 * The little of the DOM that the in-page functions below touch. The project
 * compiles without the DOM library, and puppeteer sends those functions as
 * source text (`Function.prototype.toString`, types already stripped), so
 * they reach the page through `globalThis` and these shapes.
 */
interface PageNode {
  readonly nodeType: number;
  readonly nodeName: string;
  readonly textContent: string | null;
  readonly childNodes: ArrayLike<PageNode>;
  readonly shadowRoot?: PageNode | null;
}
interface PageGlobals {
  readonly document: { readonly documentURI: string; readonly documentElement: PageNode; readonly body: { readonly innerText: string } };
}

/** Runs in the page: its visible text (innerText of the body). */
function bodyText(): string {
  return (globalThis as unknown as PageGlobals).document.body.innerText;
}

/** Runs in the page: the document's URL, `about:neterror?…` on an error page. */
function documentUri(): string {
  return (globalThis as unknown as PageGlobals).document.documentURI;
}

/** Runs in the page: its text, light and shadow trees together, one text node a line. */
function deepText(): string {
  const parts: string[] = [];
  const walk = (node: PageNode): void => {
    if (node.nodeType === 3) {
      const text = node.textContent?.trim() ?? "";
      if (text !== "") parts.push(text);
      return;
    }
    if (["SCRIPT", "STYLE", "TEMPLATE"].includes(node.nodeName)) return;
    if (node.shadowRoot !== undefined && node.shadowRoot !== null) walk(node.shadowRoot);
    for (const child of Array.from(node.childNodes)) walk(child);
  };
  walk((globalThis as unknown as PageGlobals).document.documentElement);
  return parts.join("\n");
}

/** Runs in the page: the code an error page shows ("Error Code: …"), or null while it shows none. */
function errorPageCode(): string | null {
  const document = (globalThis as unknown as PageGlobals).document;
  if (!document.documentURI.startsWith("about:")) return null;
  const parts: string[] = [];
  const walk = (node: PageNode): void => {
    if (node.nodeType === 3) parts.push(node.textContent ?? "");
    if (node.shadowRoot !== undefined && node.shadowRoot !== null) walk(node.shadowRoot);
    for (const child of Array.from(node.childNodes)) walk(child);
  };
  walk(document.documentElement);
  return /Error Code:\s*([A-Z][A-Z0-9_]+)/i.exec(parts.join(" "))?.[1] ?? null;
}

/**
 * Closes the browser, then makes sure its whole process group (puppeteer
 * starts Firefox detached, as a group leader) is gone: no Firefox outlives a
 * test.
 */
async function closeBrowser(browser: Browser): Promise<void> {
  const pid = browser.process()?.pid;
  await Promise.race([browser.close().catch(() => undefined), sleep(10_000, undefined, { ref: false })]);
  if (pid === undefined) return;
  for (let i = 0; i < 50 && groupAlive(pid); i++) {
    if (i === 20) killGroup(pid);
    await sleep(100);
  }
  if (groupAlive(pid)) throw new Error(`Firefox (process group ${String(pid)}) did not exit`);
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}
