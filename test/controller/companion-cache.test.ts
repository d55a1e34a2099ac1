import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CompanionCache } from "../../src/kube/companion-cache.ts";
import { companionDigest, toCompanionSnapshot, type CompanionSnapshot } from "../../src/kube/companion-snapshot.ts";

const companion = (data: string, extraLabels: Record<string, string> = {}): CompanionSnapshot => {
  const snapshot = toCompanionSnapshot({
    metadata: {
      namespace: "shop", name: "web-tls-ocsp", uid: "c1",
      labels: { "app.kubernetes.io/managed-by": "ocsp-stapler", "ocsp-stapler.io/source": "web-tls", ...extraLabels },
      annotations: { "ocsp-stapler.io/cert-sha256": "abc" },
      ownerReferences: [{ apiVersion: "v1", kind: "Secret", name: "web-tls", uid: "s1" }],
      managedFields: [{ manager: "ocsp-stapler" }],
    },
    data: { "tls.ocsp": data, "tls.crt.ocsp": data },
  });
  assert.ok(snapshot);
  return snapshot;
};
const applied = (data: string) => companionDigest({
  labels: { "app.kubernetes.io/managed-by": "ocsp-stapler", "ocsp-stapler.io/source": "web-tls" },
  annotations: { "ocsp-stapler.io/cert-sha256": "abc" },
  data: { "tls.crt.ocsp": data, "tls.ocsp": data },
  ownerUids: ["s1"],
});

void describe("the companion cache", () => {
  void it("a snapshot's digest equals the digest of the apply body that stored it, whatever the key order", () => {
    assert.equal(companion("AAAA").contentSha256, applied("AAAA"));
    assert.notEqual(companion("AAAA").contentSha256, applied("BBBB"));
    assert.notEqual(companion("AAAA", { team: "web" }).contentSha256, applied("AAAA"), "a label someone added: the write is sent");
  });

  void it("keys holding the same staple share one string", () => {
    const snapshot = companion("QUJD".repeat(100));
    assert.ok(Object.is(snapshot.data["tls.ocsp"], snapshot.data["tls.crt.ocsp"]));
  });

  void it("knows the echo of its own write, once; a deletion or another version is not one", () => {
    const cache = new CompanionCache();
    cache.expectEcho("shop/web-tls-ocsp", applied("AAAA"));
    assert.equal(cache.pendingEcho("shop/web-tls-ocsp"), applied("AAAA"));
    assert.equal(cache.isEcho("shop/web-tls-ocsp", companion("AAAA")), true);
    assert.equal(cache.pendingEcho("shop/web-tls-ocsp"), undefined);
    assert.equal(cache.isEcho("shop/web-tls-ocsp", companion("AAAA")), false, "used up: the next event is someone else's");
    cache.expectEcho("shop/web-tls-ocsp", applied("AAAA"));
    assert.equal(cache.isEcho("shop/web-tls-ocsp", companion("EDITED")), false);
    cache.expectEcho("shop/web-tls-ocsp", applied("AAAA"));
    assert.equal(cache.isEcho("shop/web-tls-ocsp", undefined), false);
  });
});
