import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { companionStaples, inPlaceStaples, trimToStaples } from "../../src/responder/secret-staples.ts";
import { makeOfflineResponse } from "../support/offline-response.ts";
import { createRootCa, goodEntry, type TestCa } from "../support/pki.ts";

const b64 = (bytes: Uint8Array | string) => Buffer.from(bytes).toString("base64");

void describe("the responder reads staples out of Secrets, and nothing else", () => {
  let ca: TestCa;
  let staple: Uint8Array;
  before(async () => {
    ca = await createRootCa({ name: "Secret Staples CA", key: "p256" });
    const leaf = await ca.issue({ commonName: "web.example" });
    staple = await makeOfflineResponse({ subject: leaf, ca, index: await ca.writeIndex([goodEntry(leaf)]) });
  });
  after(async () => { await ca.cleanup(); });

  const tlsSecret = (annotations: Record<string, string>, data: Record<string, string>) => ({
    type: "kubernetes.io/tls",
    metadata: { namespace: "shop", name: "web-tls", annotations: { "cert-manager.io/issuer": "x", ...annotations }, managedFields: [{ manager: "x" }] },
    data: { "tls.crt": b64("CERT"), "tls.key": b64("-----BEGIN PRIVATE KEY-----"), ...data },
  });

  void it("a LIST item is cut down at once: no tls.key, no certificate, no foreign annotation or key, no managedFields", () => {
    const trimmed = trimToStaples(tlsSecret({ "ocsp-stapler.io/staple-keys": "tls.ocsp-staple,tls.key" }, { "tls.ocsp-staple": b64(staple), "other.key": b64("secret") })) as { data: Record<string, string> };
    assert.deepEqual(Object.keys(trimmed.data), ["tls.ocsp-staple"]);
    assert.doesNotMatch(JSON.stringify(trimmed), /PRIVATE KEY|cert-manager|managedFields/);
    assert.equal(inPlaceStaples(trimmed)?.staples.length, 1);
  });

  void it("InPlace: only the keys the annotation lists, never tls.key even if listed; no annotation, no staples", () => {
    const listed = inPlaceStaples(tlsSecret({ "ocsp-stapler.io/staple-keys": "tls.ocsp-staple, tls.key" }, { "tls.ocsp-staple": b64(staple), "extra.ocsp": b64(staple) }));
    assert.equal(listed?.staples.length, 1);
    assert.deepEqual(inPlaceStaples(tlsSecret({}, { "tls.ocsp-staple": b64(staple) }))?.staples, []);
    assert.equal(inPlaceStaples({ ...tlsSecret({}, {}), type: "Opaque" }), undefined);
  });

  void it("a companion: every DER staple, one entry for keys holding the same bytes; the PEM bundle and non-OCSP values skipped", () => {
    const companion = {
      type: "Opaque",
      metadata: { namespace: "shop", name: "web-tls-ocsp", labels: { "app.kubernetes.io/managed-by": "ocsp-stapler" }, annotations: { "ocsp-stapler.io/usable-until": "2000-01-01T00:00:00Z" } },
      data: { "tls.ocsp": b64(staple), "tls.crt.ocsp": b64(staple), "tls.ocsp.pem": b64("-----BEGIN OCSP RESPONSE-----"), junk: b64("junk") },
    };
    const read = companionStaples(companion);
    assert.equal(read?.staples.length, 1);
    assert.equal(read.staples[0]?.usableUntilMs, Date.parse("2000-01-01T00:00:00Z"), "the operator's usable-until is honoured");
    assert.equal(companionStaples({ ...companion, metadata: { ...companion.metadata, labels: {} } }), undefined, "not labelled as ours");
  });
});
