// What must-staple means to a real browser: a leaf with the TLS Feature
// extension (status_request), a staple fetched and verified by
// `ocsp-stapler fetch` from a real `openssl ocsp` responder, a real nginx
// serving it with ssl_stapling_file, and Firefox ESR (headless, driven by
// puppeteer-core over WebDriver BiDi) trusting only the test root. With the
// staple the page loads; without it Firefox refuses the site with
// MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING. Firefox's own OCSP
// fetching is off, so only the staple decides.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { visitInFirefox } from "../support/firefox.ts";
import { cliStapledChain, type CliStapledChain } from "../support/cli-stapled-chain.ts";
import { startNginx, type RunningNginx } from "../support/nginx.ts";
import type { OpensslResponder } from "../support/openssl-responder.ts";
import type { Issued, TestCa } from "../support/pki.ts";
import { CERTUTIL, FIREFOX, NGINX, skipUnlessInstalled } from "../support/programs.ts";
import { makeTempDir } from "../support/tmp.ts";

// Firefox ESR, NSS's certutil and nginx come from Debian's packages; .ci/run
// installs them. Outside CI a missing one skips these tests (with the
// reason); in CI it fails them.
const skip = skipUnlessInstalled(FIREFOX, CERTUTIL, NGINX);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

void describe("Firefox and a must-staple certificate", { skip, timeout: 120_000 }, () => {
  let chain: CliStapledChain;
  let root: TestCa;
  let leaf: Issued;
  let responder: OpensslResponder;
  let staplePath: string;
  let stapled: RunningNginx;
  let unstapled: RunningNginx;
  let screenshots: string;

  before(async () => {
    chain = await cliStapledChain("browser", { rootKey: "p256", leaf: { mustStaple: true, san: ["DNS:localhost", "IP:127.0.0.1"] } });
    ({ root, leaf, responder, staplePath } = chain);
    stapled = await startNginx({ certPath: chain.chainPath, keyPath: leaf.keyPath, stapleFile: staplePath });
    unstapled = await startNginx({ certPath: chain.chainPath, keyPath: leaf.keyPath });
    // Kept after the run, so a person can look at what the browser showed.
    screenshots = await makeTempDir("browser-screenshots");
  });

  after(async () => {
    await stapled.stop();
    await unstapled.stop();
    await chain.cleanup();
  });

  void it("loads the page when nginx staples the response our CLI fetched", async () => {
    const before = responder.requests.length;
    const visit = await visitInFirefox({
      url: `https://127.0.0.1:${stapled.port}/`,
      trustedRoots: [root.certPath],
      screenshotPath: join(screenshots, "stapled.png"),
    });
    console.log(`screenshot with the staple: ${visit.screenshotPath}`);
    assert.equal(visit.outcome, "loaded", JSON.stringify(visit));
    assert.equal(visit.text, "stapled");
    assert.deepEqual((await readFile(visit.screenshotPath)).subarray(0, 8), PNG_SIGNATURE);
    assert.equal(responder.requests.length, before, "Firefox asked the responder itself: the staple did not decide alone");
  });

  void it("refuses the site with MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING when nginx sends no staple", async () => {
    const before = responder.requests.length;
    const visit = await visitInFirefox({
      url: `https://127.0.0.1:${unstapled.port}/`,
      trustedRoots: [root.certPath],
      screenshotPath: join(screenshots, "unstapled.png"),
    });
    console.log(`screenshot without a staple: ${visit.screenshotPath}`);
    assert.equal(visit.outcome, "error", JSON.stringify(visit));
    assert.equal(visit.errorCode, "MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING");
    assert.equal(visit.navigationErrorCode, "MOZILLA_PKIX_ERROR_REQUIRED_TLS_FEATURE_MISSING");
    assert.match(visit.errorPageUrl, /^about:neterror\?e=nssFailure2/);
    assert.deepEqual((await readFile(visit.screenshotPath)).subarray(0, 8), PNG_SIGNATURE);
    assert.equal(responder.requests.length, before, "Firefox asked the responder itself");
  });
});
