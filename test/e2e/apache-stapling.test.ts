// Servers that fetch their own staples from a URL we choose: Apache's mod_ssl
// (`SSLStaplingForceURL`) and nginx (`ssl_stapling_responder`), pointed at a
// real `openssl ocsp` responder. Proves the harness (test/support/apache.ts,
// nginx.ts, counting-proxy.ts, apache-side-by-side.ts) that the in-cluster
// responder will be measured with: the staple arrives, verifies for the leaf
// with `ocsp-stapler check`, and the responder's request count is known.
// The leaf's AIA names a port where nothing listens, so every staple proves
// the configured URL was used.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { apacheSideBySide } from "../support/apache-side-by-side.ts";
import { withApache as withApacheServer, type ApacheStapling, type RunningApache } from "../support/apache.ts";
import { startCountingProxy, type CountingProxy } from "../support/counting-proxy.ts";
import { freePort } from "../support/free-port.ts";
import { startNginx } from "../support/nginx.ts";
import { startOpensslResponder, type OpensslResponder } from "../support/openssl-responder.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import { createRootCa, goodEntry, type Issued, type TestCa } from "../support/pki.ts";
import { APACHE, NGINX, skipUnlessInstalled } from "../support/programs.ts";
import { jsonOf, runCli } from "../support/run-cli.ts";
import { handshake, handshakeUntilStapled, heldHandshakes, stapleStatus } from "../support/stapled-handshakes.ts";
import { waitFor } from "../support/wait-for.ts";

let root: TestCa;
let intermediate: TestCa;
let leaf: Issued;
let responder: OpensslResponder;
/** The leaf, then the intermediate: what the servers send. */
let chainPath: string;
/** The root, then the intermediate: nginx's ssl_trusted_certificate. */
let trustedPath: string;

before(async () => {
  root = await createRootCa({ name: "apache-root", key: "p256" });
  intermediate = await root.issueIntermediate({ name: "apache-int", key: "p256" });
  leaf = await intermediate.issue({ commonName: "localhost", ocspUrl: `http://127.0.0.1:${await freePort()}/` });
  responder = await startOpensslResponder({ ca: intermediate, indexPath: await intermediate.writeIndex([goodEntry(leaf)]), nextUpdateDays: 7 });
  chainPath = join(intermediate.dir, "served-chain.pem");
  trustedPath = join(intermediate.dir, "trusted.pem");
  await writeFile(chainPath, leaf.certPem + intermediate.certPem);
  await writeFile(trustedPath, root.certPem + intermediate.certPem);
});

after(async () => {
  await responder.stop();
  await root.cleanup();
});

/** `ocsp-stapler check` on the server: the staple it serves verifies for the leaf and says good. */
async function assertCheckVerifies(port: number): Promise<void> {
  const result = await runCli(["check", `127.0.0.1:${port}`, "--servername", "localhost", "--json"]);
  assert.equal(result.status, 0, result.stdout + result.stderr);
  const json = jsonOf(result);
  assert.equal(json.ok, true);
  assert.equal(json.certStatus, "good");
  assert.equal(json.serial, leaf.serialHex);
}

function withApache(stapling: ApacheStapling, processes: number, body: (apache: RunningApache) => Promise<void>): Promise<void> {
  return withApacheServer({ certPath: chainPath, keyPath: leaf.keyPath, stapling, processes }, body);
}

void describe("Apache mod_ssl stapling from SSLStaplingForceURL", { skip: skipUnlessInstalled(APACHE) }, () => {
  void it("fetches on the first handshake, staples it, and check verifies the staple for the leaf", async () => {
    const seen = responder.requests.length;
    await withApache({ forceUrl: responder.url }, 1, async (apache) => {
      assert.equal(responder.requests.length, seen, "nothing is fetched at start");
      const output = await sClientStatus(apache.port);
      assert.match(output, /OCSP Response Status: successful \(0x0\)/);
      assert.match(output, /Cert Status: good/);
      assert.match(output, new RegExp(`Serial Number: 0*${leaf.serialHex}`, "i"));
      await assertCheckVerifies(apache.port);
      assert.deepEqual(responder.requests.slice(seen).map((request) => request.method), ["POST"], "one POST for the first handshake; check's handshake came from the cache");
    });
  });

  void it("N processes share one fetch through the shmcb cache", async () => {
    const proxy = await startCountingProxy(responder.url);
    try {
      await withApache({ forceUrl: proxy.url }, 3, async (apache) => {
        // Three connections held open at once: each on its own prefork process.
        const held = await heldHandshakes(apache.port, 3);
        held.close();
        assert.deepEqual(held.handshakes.map((one) => stapleStatus(one.staple)), ["successful", "successful", "successful"]);
        for (let i = 0; i < 3; i++) assert.equal(stapleStatus((await handshake(apache.port)).staple), "successful");
        const children = new Set([...(await apache.errorLog()).matchAll(/\[pid (\d+):tid \d+\] \[client [^\]]+\] AH01964/g)].map((match) => match[1]));
        assert.ok(children.size >= 3, `handshakes were served by ${children.size} processes`);
        assert.equal(proxy.requests.length, 1, "one OCSP request for all processes");
      });
    } finally {
      await proxy.close();
    }
  });

  void describe("with the responder down at the first handshake", () => {
    let proxy: CountingProxy;
    before(async () => { proxy = await startCountingProxy(responder.url); });
    after(async () => { await proxy.close(); });

    void it("defaults: a made-up tryLater is stapled, and served from the cache after the responder is back", async () => {
      proxy.mode = "drop";
      const seen = proxy.requests.length;
      await withApache({ forceUrl: proxy.url }, 2, async (apache) => {
        assert.match(await sClientStatus(apache.port), /OCSP Response Status: trylater \(0x3\)/);
        assert.equal(proxy.requests.length - seen, 1);
        proxy.mode = "forward";
        // Later handshakes, on either process, get the cached tryLater without asking (the fetch would be inside them).
        const held = await heldHandshakes(apache.port, 2);
        held.close();
        assert.deepEqual(held.handshakes.map((one) => stapleStatus(one.staple)), ["tryLater", "tryLater"]);
        assert.equal(proxy.requests.length - seen, 1, "a cached tryLater: no new request");
      });
    });

    void it("the made-up tryLater is cached for SSLStaplingStandardCacheTimeout, not SSLStaplingErrorCacheTimeout", async () => {
      proxy.mode = "drop";
      const seen = proxy.requests.length;
      await withApache({ forceUrl: proxy.url, standardCacheTimeout: 1, errorCacheTimeout: 600 }, 1, async (apache) => {
        assert.equal(stapleStatus((await handshake(apache.port)).staple), "tryLater");
        proxy.mode = "forward";
        // Re-fetched once the standard timeout (1 s here) has passed; the error timeout (600 s here) would outlast the wait.
        const stapled = await handshakeUntilStapled(apache.port, 10_000);
        assert.equal(stapleStatus(stapled.staple), "successful");
        assert.equal(proxy.requests.length - seen, 2);
      });
    });

    void it("SSLStaplingReturnResponderErrors off, SSLStaplingFakeTryLater off: no staple, and every handshake asks again", async () => {
      proxy.mode = "drop";
      const seen = proxy.requests.length;
      await withApache({ forceUrl: proxy.url, returnResponderErrors: false, fakeTryLater: false, responderTimeout: 5 }, 2, async (apache) => {
        for (let i = 1; i <= 3; i++) {
          assert.equal(stapleStatus((await handshake(apache.port)).staple), "none");
          assert.equal(proxy.requests.length - seen, i, "each handshake asked the responder");
        }
        proxy.mode = "forward";
        assert.equal(stapleStatus((await handshake(apache.port)).staple), "successful", "stapled as soon as the responder is back");
        await assertCheckVerifies(apache.port);
        assert.equal(proxy.requests.length - seen, 4);
      });
    });

    void it("SSLStaplingReturnResponderErrors off alone: the made-up tryLater is still stapled, and every handshake asks again", async () => {
      proxy.mode = "drop";
      const seen = proxy.requests.length;
      await withApache({ forceUrl: proxy.url, returnResponderErrors: false }, 2, async (apache) => {
        for (let i = 1; i <= 2; i++) {
          assert.equal(stapleStatus((await handshake(apache.port)).staple), "tryLater");
          assert.equal(proxy.requests.length - seen, i);
        }
        proxy.mode = "forward";
        assert.equal(stapleStatus((await handshake(apache.port)).staple), "successful");
        assert.equal(proxy.requests.length - seen, 3);
      });
    });
  });

  void it("a stalled responder: the first handshake waits SSLStaplingResponderTimeout, then gets the made-up tryLater", async () => {
    const proxy = await startCountingProxy(responder.url);
    proxy.mode = "hang";
    try {
      await withApache({ forceUrl: proxy.url, responderTimeout: 1 }, 1, async (apache) => {
        const first = await handshake(apache.port);
        assert.equal(stapleStatus(first.staple), "tryLater");
        assert.ok(first.ms >= 900, `the handshake waited for the responder (${first.ms} ms)`);
        assert.equal(proxy.requests.length, 1);
      });
    } finally {
      await proxy.close();
    }
  });

  void it("a responder's own error answer (unauthorized) is stapled and cached for SSLStaplingErrorCacheTimeout", async () => {
    const proxy = await startCountingProxy(responder.url);
    proxy.mode = "unauthorized";
    try {
      await withApache({ forceUrl: proxy.url, standardCacheTimeout: 600, errorCacheTimeout: 1 }, 1, async (apache) => {
        assert.match(await sClientStatus(apache.port), /OCSP Response Status: unauthorized \(0x6\)/);
        assert.equal(proxy.requests.length, 1);
        proxy.mode = "forward";
        // Expires with the error timeout (1 s here), not the standard one (600 s here).
        const stapled = await handshakeUntilStapled(apache.port, 10_000);
        assert.equal(stapleStatus(stapled.staple), "successful");
        assert.equal(proxy.requests.length, 2);
      });
    } finally {
      await proxy.close();
    }
  });

  void it("does not verify the response's signature: one signed by a stranger's key is stapled (check rejects it)", async () => {
    const foreign = await createRootCa({ name: "apache-foreign", key: "p256" });
    const wrongSigner = await startOpensslResponder({ ca: intermediate, signer: foreign, indexPath: await intermediate.writeIndex([goodEntry(leaf)], "apache-wrong-signer-index.txt"), nextUpdateDays: 7 });
    try {
      await withApache({ forceUrl: wrongSigner.url }, 1, async (apache) => {
        assert.equal(stapleStatus((await handshake(apache.port)).staple), "successful");
        const result = await runCli(["check", `127.0.0.1:${apache.port}`, "--servername", "localhost", "--json"]);
        assert.equal(result.status, 2, result.stdout + result.stderr);
        assert.equal((jsonOf(result).error as { code: string }).code, "UnauthorizedSigner");
      });
    } finally {
      await wrongSigner.stop();
      await foreign.cleanup();
    }
  });

  void it("side by side (printed): requests, first stapled handshake for N processes", async (t) => {
    const result = await apacheSideBySide({ responderUrl: responder.url, certPath: chainPath, keyPath: leaf.keyPath, processes: 4, handshakes: 12 });
    const report = `Apache, 4 processes, 12 handshakes, openssl ocsp responder: ${JSON.stringify(result)}`;
    t.diagnostic(report);
    console.log(report);
    assert.ok(result.stapledHandshakes > 0, "the helper saw staples");
  });
});

void describe("nginx stapling from ssl_stapling_responder, ssl_stapling_verify on", { skip: skipUnlessInstalled(NGINX) }, () => {
  void it("staples once its background fetch has landed, and check verifies the staple", async (t) => {
    const proxy = await startCountingProxy(responder.url);
    // One worker: once it has a staple, every later handshake (s_client's, check's) reaches it.
    const nginx = await startNginx({ certPath: chainPath, keyPath: leaf.keyPath, workers: 1, builtInStapling: { responderUrl: proxy.url, trustedCertificate: trustedPath } });
    try {
      const stapled = await handshakeUntilStapled(nginx.port, 10_000);
      const output = await sClientStatus(nginx.port);
      assert.match(output, /OCSP Response Status: successful \(0x0\)/);
      assert.match(output, /Cert Status: good/);
      await assertCheckVerifies(nginx.port);
      const report = `nginx, 1 worker: first staple on handshake ${stapled.handshakes} after ${stapled.ms} ms; OCSP requests: ${proxy.requests.length}`;
      t.diagnostic(report);
      assert.equal(proxy.requests.length, 1, "one fetch, then the worker's cache");
    } catch (error) {
      throw new Error(`${String(error)}\nnginx's error log:\n${await nginx.errorLog()}`, { cause: error });
    } finally {
      await nginx.stop();
      await proxy.close();
    }
  });

  void it("verify trusts the issuer in the served chain: a CA-signed response staples whatever ssl_trusted_certificate holds", async () => {
    const foreign = await createRootCa({ name: "apache-foreign", key: "p256" });
    const nginx = await startNginx({ certPath: chainPath, keyPath: leaf.keyPath, workers: 1, builtInStapling: { responderUrl: responder.url, trustedCertificate: foreign.certPath } });
    try {
      assert.equal(stapleStatus((await handshakeUntilStapled(nginx.port, 10_000)).staple), "successful");
    } finally {
      await nginx.stop();
      await foreign.cleanup();
    }
  });

  void it("a response signed by a key that is not the issuer's is not stapled", async () => {
    const foreign = await createRootCa({ name: "apache-foreign", key: "p256" });
    const wrongSigner = await startOpensslResponder({ ca: intermediate, signer: foreign, indexPath: await intermediate.writeIndex([goodEntry(leaf)], "wrong-signer-index.txt"), nextUpdateDays: 7 });
    const nginx = await startNginx({ certPath: chainPath, keyPath: leaf.keyPath, workers: 1, builtInStapling: { responderUrl: wrongSigner.url, trustedCertificate: trustedPath } });
    try {
      // nginx fetches after a handshake asks; its log says when the fetched response failed to verify.
      await waitFor(async () => {
        await handshake(nginx.port);
        return (await nginx.errorLog()).includes("OCSP_basic_verify() failed") ? true : undefined;
      }, "nginx to log that the response failed to verify", 10_000);
      assert.equal(stapleStatus((await handshake(nginx.port)).staple), "none");
      assert.equal(wrongSigner.requests.length, 1);
    } catch (error) {
      throw new Error(`${String(error)}\nnginx's error log:\n${await nginx.errorLog()}`, { cause: error });
    } finally {
      await nginx.stop();
      await wrongSigner.stop();
      await foreign.cleanup();
    }
  });
});
