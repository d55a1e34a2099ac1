// What the reloader reads from HAProxy's runtime API text (as HAProxy 2.6.12
// printed it) and the PEM payload it builds for a certificate transaction.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { certificateWithKey } from "../../src/reloader/haproxy-cert-payload.ts";
import { parseOcspResponseList, parseThisUpdate } from "../../src/reloader/haproxy-held-staple.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";

const LIST = `# Certificate IDs
Certificate ID key : 3049300906052b0e03021a050004142d6e3d04c895c614310843567caa3cb442bab9e5041492019e8725638e70c2c2ce4cb83a43d33b02e90702105378fa20b4dd7b6a7be7a852b56fdce4
 Certificate ID:
   Issuer Name Hash: 2D6E3D04C895C614310843567CAA3CB442BAB9E5
   Issuer Key Hash: 92019E8725638E70C2C2CE4CB83A43D33B02E907
   Serial Number: 5378FA20B4DD7B6A7BE7A852B56FDCE4
Certificate ID key : 303b300906052b0e03021a050004148a83e0060faff709ca7e9b95522a2e81635fda0a0414f652b0e435d5ea923851508f0adbe92d85de007a0202100a
 Certificate ID:
   Issuer Name Hash: 8A83E0060FAFF709CA7E9B95522A2E81635FDA0A
   Issuer Key Hash: F652B0E435D5EA923851508F0ADBE92D85DE007A
   Serial Number: 100A

`;

const RESPONSE = `OCSP Response Data:
    OCSP Response Status: successful (0x0)
    Response Type: Basic OCSP Response
    Produced At: Nov 30 13:18:32 2026 GMT
    Responses:
    Certificate ID:
      Serial Number: 5378FA20B4DD7B6A7BE7A852B56FDCE4
    Cert Status: good
    This Update: Dec  7 13:18:32 2026 GMT
    Next Update: Dec 14 13:18:32 2026 GMT
`;

void describe("HAProxy's runtime API text", () => {
  void it("show ssl ocsp-response: every entry's CertID key and serial", () => {
    assert.deepEqual(parseOcspResponseList(LIST).map((entry) => entry.serial), ["5378FA20B4DD7B6A7BE7A852B56FDCE4", "100A"]);
    assert.match(parseOcspResponseList(LIST)[1]?.certIdKey ?? "", /^303b3009.*100a$/);
  });

  void it("show ssl ocsp-response with no response held (HAProxy started without one) lists nothing", () => {
    assert.deepEqual(parseOcspResponseList(""), []);
    assert.deepEqual(parseOcspResponseList("# Certificate IDs\n"), []);
  });

  void it("show ssl ocsp-response <id>: This Update, a one-digit day padded with a space", () => {
    assert.equal(parseThisUpdate(RESPONSE)?.toISOString(), "2026-12-07T13:18:32.000Z");
    assert.equal(parseThisUpdate("Unknown command."), undefined);
  });
});

void describe("the PEM payload that drops a staple from HAProxy", () => {
  let dir: string;
  const cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  const key = "-----BEGIN PRIVATE KEY-----\nMIGH\n-----END PRIVATE KEY-----\n";
  before(async () => { dir = await makeTempDir("haproxy-payload"); });
  after(async () => { await removeTempDir(dir); });

  void it("takes the key from <crt>.key when the certificate file has none (the README's layout), with no empty line", async () => {
    await writeFile(join(dir, "tls.crt"), `${cert}\n\n${cert}`);
    await writeFile(join(dir, "tls.crt.key"), `\n${key}`);
    const payload = certificateWithKey(join(dir, "tls.crt"));
    assert.equal(payload, `${cert}${cert}${key}`.trim());
    assert.doesNotMatch(payload, /\n\n/);
  });

  void it("uses the key in the certificate file itself, as HAProxy does", async () => {
    await writeFile(join(dir, "site.pem"), `${cert}${key}`);
    assert.equal(certificateWithKey(join(dir, "site.pem")), `${cert}${key}`.trim());
  });

  void it("without a key says where it looked, and never what it read", async () => {
    await writeFile(join(dir, "alone.crt"), cert);
    assert.throws(() => certificateWithKey(join(dir, "alone.crt")), /neither in .*alone\.crt nor in .*alone\.crt\.key/);
  });
});
