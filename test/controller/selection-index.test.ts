import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SelectionIndex, selectionChanged } from "../../src/controller/selection-index.ts";
import type { LabelSelector } from "../../src/kube/label-selector.ts";
import { toStapleConfig, type StapleConfig } from "../../src/kube/staple-config.ts";
import { toTlsSecret, type TlsSecret } from "../../src/kube/tls-secret.ts";

const config = (name: string, created: string, selector: LabelSelector, namespace = "shop"): StapleConfig => {
  const parsed = toStapleConfig({ metadata: { namespace, name, uid: name, creationTimestamp: created }, spec: { secretSelector: selector } });
  assert.ok(parsed);
  return parsed;
};
const secret = (name: string, labels: Record<string, string>, namespace = "shop"): TlsSecret => {
  const parsed = toTlsSecret({ type: "kubernetes.io/tls", metadata: { namespace, name, uid: name, labels }, data: {} });
  assert.ok(parsed);
  return parsed;
};
const byKey = <T extends { namespace: string; name: string }>(...items: T[]) => new Map(items.map((item) => [`${item.namespace}/${item.name}`, item]));

void describe("the selection index", () => {
  const web = config("web", "2026-01-01T00:00:00Z", { matchLabels: { app: "web" } });
  const all = config("all", "2026-02-01T00:00:00Z", {});

  void it("lists what each config selects, and the oldest selecting config as the owner", () => {
    const index = new SelectionIndex();
    index.rebuild(byKey(secret("a", { app: "web" }), secret("b", { app: "api" }), secret("c", { app: "web" }, "other")), byKey(web, all));
    assert.deepEqual([...index.selectedBy("shop/web")].sort(), ["shop/a"]);
    assert.deepEqual([...index.selectedBy("shop/all")].sort(), ["shop/a", "shop/b"]);
    assert.equal(index.ownerOf("shop/a"), "shop/web");
    assert.equal(index.ownerOf("shop/b"), "shop/all");
    assert.equal(index.ownerOf("other/c"), undefined);
  });

  void it("follows a Secret's labels, and names the configs that selected it before or do now", () => {
    const index = new SelectionIndex();
    const configs = byKey(web, all);
    index.rebuild(byKey(secret("a", { app: "web" })), configs);
    assert.deepEqual(index.secretChanged("shop/a", secret("a", { app: "api" }), configs).sort(), ["shop/all", "shop/web"]);
    assert.deepEqual([...index.selectedBy("shop/web")], []);
    assert.equal(index.ownerOf("shop/a"), "shop/all");
    assert.deepEqual(index.secretChanged("shop/a", undefined, configs), ["shop/all"]);
    assert.deepEqual([...index.selectedBy("shop/all")], []);
  });

  void it("ranks a namespace's Secrets again when a config comes or goes", () => {
    const index = new SelectionIndex();
    const secrets = byKey(secret("a", { app: "web" }));
    index.rebuild(secrets, byKey(all));
    assert.equal(index.ownerOf("shop/a"), "shop/all");
    assert.deepEqual(index.configChanged("shop", secrets, byKey(all, web)).sort(), ["shop/all", "shop/web"]);
    assert.equal(index.ownerOf("shop/a"), "shop/web");
    index.configChanged("shop", secrets, byKey(all));
    assert.equal(index.ownerOf("shop/a"), "shop/all");
    assert.deepEqual([...index.selectedBy("shop/web")], []);
  });

  void it("a status write changes no selection; a new selector or a new identity does", () => {
    const withStatus = { ...web, status: { stapled: 1 } };
    assert.equal(selectionChanged(withStatus, web), false);
    assert.equal(selectionChanged({ ...web, selector: { matchLabels: { app: "api" } } }, web), true);
    assert.equal(selectionChanged({ ...web, uid: "again" }, web), true);
    assert.equal(selectionChanged(undefined, web), true);
  });
});
