// The reloader's command line refuses what it cannot run, with a clear
// message and exit status 2, before touching any server.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runCli } from "../support/run-cli.ts";

const cases: { name: string; args: string[]; message: RegExp }[] = [
  { name: "no --server", args: ["--cert", "a", "--staple", "b"], message: /--server is required/ },
  { name: "an unknown server", args: ["--server", "envoy", "--cert", "a", "--staple", "b"], message: /--server must be one of nginx, haproxy/ },
  { name: "no pair", args: ["--server", "haproxy"], message: /at least one --cert and --staple/ },
  { name: "unpaired flags", args: ["--server", "haproxy", "--cert", "a", "--cert", "b", "--staple", "c"], message: /2 --cert and 1 --staple/ },
  { name: "a bad name", args: ["--server", "nginx", "--cert", "a", "--staple", "b", "--name", "../etc"], message: /--name: "..\/etc" is not a usable name/ },
  { name: "a name twice", args: ["--server", "nginx", "--cert", "a", "--staple", "b", "--cert", "c", "--staple", "d", "--name", "x", "--name", "x"], message: /"x" is given twice/ },
  { name: "an nginx flag for HAProxy", args: ["--server", "haproxy", "--cert", "a", "--staple", "b", "--nginx-pid-file", "p"], message: /--nginx-pid-file is for --server nginx/ },
  { name: "both reload methods", args: ["--server", "nginx", "--cert", "a", "--staple", "b", "--nginx-pid-file", "p", "--nginx-reload-command", "nginx -s reload"], message: /not both/ },
  { name: "a bad interval", args: ["--server", "haproxy", "--cert", "a", "--staple", "b", "--interval", "0.1s"], message: /--interval must be between 1s and 10m/ },
  { name: "an unreadable --issuer", args: ["--server", "haproxy", "--cert", "a", "--staple", "b", "--issuer", "/nonexistent/issuer.pem"], message: /cannot read the issuer "\/nonexistent\/issuer.pem"/ },
  { name: "a --cert that is not there", args: ["--server", "haproxy", "--cert", "/nonexistent/tls", "--staple", "b"], message: /--cert: "\/nonexistent\/tls" does not exist/ },
  { name: "a misspelt flag", args: ["--server", "haproxy", "--cert", "a", "--staple", "b", "--haproxy-sock", "s"], message: /Unknown option '--haproxy-sock'/ },
];

void describe("ocsp-stapler reloader: usage errors", () => {
  for (const c of cases) {
    void it(`${c.name}: exit 2 with a clear message`, async () => {
      const result = await runCli(["reloader", ...c.args]);
      assert.equal(result.status, 2, result.stdout + result.stderr);
      assert.match(result.stderr, c.message);
      assert.match(result.stderr, /^ocsp-stapler reloader: /);
    });
  }

  void it("--help documents every flag", async () => {
    const result = await runCli(["reloader", "--help"]);
    assert.equal(result.status, 0);
    for (const flag of ["--server", "--cert", "--staple", "--name", "--issuer", "--haproxy-socket", "--nginx-staple-dir", "--nginx-pid-file", "--nginx-reload-command", "--nginx-test-command", "--interval", "--metrics-addr"]) {
      assert.ok(result.stdout.includes(flag), `--help mentions ${flag}`);
    }
  });

  void it("--help says that with chain: Full --staple names the leaf's key: nginx and HAProxy serve the leaf's staple only", async () => {
    const result = await runCli(["reloader", "--help"]);
    assert.equal(result.status, 0);
    // The help is wrapped: compare it with line breaks and indents folded to single spaces.
    const text = result.stdout.replace(/\s+/g, " ");
    assert.match(text, /With chain: Full, point --staple at the leaf's key \(tls\.ocsp\)/);
    assert.match(text, /nginx and HAProxy serve one staple, the leaf's/);
    assert.match(text, /the bundle \(tls\.ocsp\.pem\) are for GnuTLS servers/);
  });
});
