// `ocsp-stapler check` says how many staples it could see, and that Node's
// TLS shows only the leaf's: a real TLS server (Node's, port 0) serving the
// chain and the staple our CLI fetched from a real `openssl ocsp` responder.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { createServer, type Server } from "node:tls";
import { cliStapledChain, type CliStapledChain } from "../support/cli-stapled-chain.ts";
import { jsonOf, runCli } from "../support/run-cli.ts";

void describe("check: the staples seen", () => {
  let chain: CliStapledChain;
  let server: Server;
  let port: number;

  before(async () => {
    chain = await cliStapledChain("check-seen");
    const staple = await readFile(chain.staplePath);
    server = createServer({ key: chain.leaf.keyPem, cert: await readFile(chain.chainPath) });
    // Node's server staples through this event: the leaf's response, the only one it can send.
    server.on("OCSPRequest", (_certificate: Buffer, _issuer: Buffer, callback: (error: Error | null, response: Buffer) => void) => { callback(null, staple); });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await chain.cleanup();
  });

  for (const version of ["TLSv1.2", "TLSv1.3"]) {
    void it(`${version}: --json says one staple seen and that only the leaf's is visible`, async () => {
      server.setSecureContext({ key: chain.leaf.keyPem, cert: await readFile(chain.chainPath), minVersion: version as "TLSv1.2", maxVersion: version as "TLSv1.2" });
      const result = await runCli(["check", `127.0.0.1:${port}`, "--servername", "localhost", "--json"]);
      assert.equal(result.status, 0, result.stdout + result.stderr);
      const json = jsonOf(result);
      assert.deepEqual([json.protocol, json.certStatus, json.staplesSeen, json.onlyLeafVisible], [version, "good", 1, true]);
    });
  }

  void it("the summary says it plainly", async () => {
    const result = await runCli(["check", `127.0.0.1:${port}`, "--servername", "localhost"]);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /^status\s+good$/m);
    assert.match(result.stdout, /^staples seen 1 \(the leaf's; Node's TLS shows no intermediate's staple, so those cannot be checked\)$/m);
  });
});
