// `ocsp-stapler status` without a cluster: rows from StapleConfig objects and
// Secrets' metadata, their order, kubectl's durations, colours and the JSON shape.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gatherRows, sortRows, type SecretMetadata, type StatusRow } from "../../src/cli/status-rows.ts";
import { humanDuration, jsonRow, renderJson, renderTable } from "../../src/cli/status-table.ts";

const NOW = new Date("2026-11-30T12:00:00Z");
const at = (hours: number) => new Date(NOW.getTime() + hours * 3_600_000).toISOString().replace(/\.000Z$/, "Z");

function config(name: string, status: Record<string, unknown> | undefined, spec: Record<string, unknown> = {}, created = "2026-11-01T00:00:00Z"): unknown {
  return { metadata: { namespace: "shop", name, uid: `uid-${name}`, generation: 1, creationTimestamp: created }, spec: { secretSelector: {}, ...spec }, ...(status === undefined ? {} : { status }) };
}

function companion(source: string, certStatus: string, nextUpdate: string): SecretMetadata {
  return {
    namespace: "shop", name: `${source}-ocsp`,
    labels: { "app.kubernetes.io/managed-by": "ocsp-stapler", "ocsp-stapler.io/source": source },
    annotations: { "ocsp-stapler.io/cert-status": certStatus, "ocsp-stapler.io/this-update": at(-24), "ocsp-stapler.io/next-update": nextUpdate, "ocsp-stapler.io/serial": "0a", "ocsp-stapler.io/responder": "http://ocsp.example/" },
  };
}

const good = (name: string, leftHours: number) => ({ name, serial: "0a", certStatus: "Good", thisUpdate: at(-24), nextUpdate: at(leftHours), nextRefresh: at(leftHours / 2), staple: `${name}-ocsp` });

void describe("status rows", () => {
  void it("reads a status: Good, Revoked, Failing (with its code), Pending; the responder from the companion", () => {
    const { rows, notes } = gatherRows([config("web", {
      selected: 4, failing: 1,
      secrets: [
        { name: "api-tls", error: { code: "CertStatusUnknown", message: "the responder answered unknown" } },
        { ...good("old-tls", 50), certStatus: "Revoked" },
        good("web-tls", 80),
        { name: "new-tls" },
      ],
    })], [companion("web-tls", "good", at(80))], []);
    assert.deepEqual(notes, []);
    assert.deepEqual(rows.map((row) => [row.secret, row.status, row.error?.code]), [["api-tls", "Failing", "CertStatusUnknown"], ["old-tls", "Revoked", undefined], ["web-tls", "Good", undefined], ["new-tls", "Pending", undefined]]);
    assert.equal(rows[2]?.responder, "http://ocsp.example/");
    assert.equal(rows[2].staple, "web-tls-ocsp");
    assert.ok(rows.every((row) => row.from === "status" && row.config === "web" && row.namespace === "shop"));
  });

  void it("a Secret an older config owns is a Failing row (Conflict) of the newer one, and does not make its status look partial", () => {
    const { rows, notes } = gatherRows([config("later", { selected: 0, failing: 0, secrets: [{ name: "web-tls", error: { code: "Conflict", message: "selected by an older StapleConfig, which owns it" } }] })], [], []);
    assert.deepEqual(notes, []);
    assert.deepEqual(rows.map((row) => [row.secret, row.config, row.status, row.error?.code]), [["web-tls", "later", "Failing", "Conflict"]]);
  });

  void it("a config without a status yet gives a note, no rows", () => {
    assert.deepEqual(gatherRows([config("web", undefined)], [], []), { rows: [], notes: ["shop/web: no status yet (is the controller running and watching this namespace?)"] });
  });

  void it("more than 50 Secrets: the unlisted ones from their companions' annotations, each to the oldest config selecting it", () => {
    const listed = Array.from({ length: 50 }, (_, index) => good(`s${String(index).padStart(2, "0")}`, 100));
    const labels = { app: "shop" };
    const tls = (name: string): SecretMetadata => ({ namespace: "shop", name, labels, annotations: {} });
    const big = config("web", { selected: 52, failing: 0, secrets: listed }, { secretSelector: { matchLabels: labels } });
    const newer = config("later", { selected: 0, failing: 0, secrets: [] }, { secretSelector: {} }, "2026-11-20T00:00:00Z");
    const { rows, notes } = gatherRows([big, newer], [companion("x1", "good", at(10)), companion("x2", "revoked", at(20))], [...listed.map((entry) => tls(entry.name)), tls("x1"), tls("x2"), tls("x3")]);
    assert.deepEqual(notes, []);
    assert.equal(rows.length, 53);
    const extra = rows.filter((row) => row.from === "annotations");
    assert.deepEqual(extra.map((row) => [row.secret, row.config, row.status, row.nextUpdate, row.nextRefresh, row.staple]), [
      ["x1", "web", "Good", at(10), undefined, "x1-ocsp"],
      ["x2", "web", "Revoked", at(20), undefined, "x2-ocsp"],
      ["x3", "web", "Pending", undefined, undefined, undefined],
    ]);
  });

  void it("more than 50 failing: unlisted Secrets without a staple are Failing, and a note says where their errors are", () => {
    const failing = Array.from({ length: 50 }, (_, index) => ({ name: `f${String(index).padStart(2, "0")}`, error: { code: "ResponderTimeout", message: "timed out" } }));
    const { rows, notes } = gatherRows([config("web", { selected: 51, failing: 51, secrets: failing })], [], [...failing.map((entry) => ({ namespace: "shop", name: entry.name, labels: {}, annotations: {} })), { namespace: "shop", name: "zz", labels: {}, annotations: {} }]);
    assert.equal(rows.find((row) => row.secret === "zz")?.status, "Failing");
    assert.match(notes[0] ?? "", /51 Secrets failing, its status lists 50/);
  });

  void it("InPlace: the staple's annotations are on the TLS Secret itself", () => {
    const inPlace = { namespace: "shop", name: "gw-tls", labels: {}, annotations: { "ocsp-stapler.io/staple-keys": "tls.ocsp-staple", "ocsp-stapler.io/cert-status": "good", "ocsp-stapler.io/next-update": at(30), "ocsp-stapler.io/responder": "http://r/" } };
    const { rows } = gatherRows([config("gw", { selected: 51, failing: 0, secrets: [] }, { target: { mode: "InPlace", keys: ["tls.ocsp-staple"] } })], [], [inPlace]);
    assert.deepEqual(rows.map((row) => [row.secret, row.status, row.staple, row.responder]), [["gw-tls", "Good", "gw-tls", "http://r/"]]);
  });

  void it("SERVED: the endpoints of status.endpoints naming the row's Secret, Served of all and the worst other state; none: absent", () => {
    const endpoint = (address: string, state: string, secret?: string) => ({ address, state, message: "m", since: at(-1), ...(secret === undefined ? {} : { secret }) });
    const { rows, notes } = gatherRows([config("web", {
      selected: 4, failing: 0,
      secrets: [good("web-tls", 80), good("api-tls", 80), good("cdn-tls", 80), good("new-tls", 80)],
      endpoints: [
        endpoint("10.0.0.1:443", "Unreachable"),
        endpoint("10.0.0.2:443", "OldStaple", "web-tls"),
        endpoint("10.0.0.3:443", "Served", "web-tls"),
        endpoint("10.0.0.4:443", "Pending", "web-tls"),
        endpoint("10.0.0.5:443", "Served", "api-tls"),
        endpoint("10.0.0.6:443", "NoStaple", "cdn-tls"),
        endpoint("10.0.0.7:443", "CertificateMismatch", "cdn-tls"),
        endpoint("10.0.0.8:443", "Misspelt", "new-tls"),
      ],
    })], [], []);
    assert.deepEqual(notes, []);
    assert.deepEqual(rows.map((row) => [row.secret, row.served]), [
      // OldStaple is worse than Pending (ENDPOINT_STATES order); an entry without a secret is no row's.
      ["web-tls", { endpoints: 3, served: 1, worst: "OldStaple" }],
      ["api-tls", { endpoints: 1, served: 1 }],
      ["cdn-tls", { endpoints: 2, served: 0, worst: "CertificateMismatch" }],
      // An unknown state (a newer controller's) is not counted.
      ["new-tls", undefined],
    ]);
  });

  void it("SERVED with more endpoints than the status lists (20, failing first): a note says the counts are of those listed", () => {
    const endpoints = Array.from({ length: 21 }, (_, index) => ({ address: `10.0.0.${index}:443` }));
    const listed = endpoints.slice(0, 20).map((entry) => ({ ...entry, state: "NoStaple", secret: "web-tls", message: "m", since: at(-1) }));
    const { rows, notes } = gatherRows([config("web", { selected: 1, failing: 0, secrets: [good("web-tls", 80)], endpoints: listed }, { probe: { endpoints } })], [], []);
    assert.deepEqual(rows[0]?.served, { endpoints: 20, served: 0, worst: "NoStaple" });
    assert.deepEqual(notes, ["shop/web: 21 endpoints probed, its status lists 20 (failing first); SERVED counts those listed, the metrics have every one"]);
    const all = gatherRows([config("web", { selected: 1, failing: 0, secrets: [good("web-tls", 80)], endpoints: listed }, { probe: { endpoints: endpoints.slice(0, 20) } })], [], []);
    assert.deepEqual(all.notes, []);
  });

  void it("sorts failing and revoked first, then by time left (none left first), then by name", () => {
    const row = (secret: string, status: StatusRow["status"], leftHours?: number): StatusRow => ({ namespace: "shop", secret, config: "web", status, from: "status", ...(leftHours === undefined ? {} : { nextUpdate: at(leftHours) }) });
    const sorted = sortRows([row("g-late", "Good", 90), row("pending", "Pending"), row("g-soon", "Good", 5), row("failing-staple", "Failing", 40), row("revoked", "Revoked", 60), row("failing-none", "Failing")]);
    assert.deepEqual(sorted.map((entry) => entry.secret), ["failing-none", "failing-staple", "revoked", "pending", "g-soon", "g-late"]);
  });
});

void describe("status table", () => {
  const rows: StatusRow[] = [
    { namespace: "shop", secret: "api-tls", config: "web", status: "Failing", error: { code: "ResponderTimeout", message: "no answer\nin 10s" }, from: "status" },
    { namespace: "shop", secret: "web-tls", config: "web", status: "Good", serial: "0a1b", thisUpdate: at(-3), nextUpdate: at(76), nextRefresh: at(0.5), responder: "http://ocsp.example/", staple: "web-tls-ocsp", from: "status" },
    { namespace: "shop", secret: "cdn-tls", config: "web", status: "Good", thisUpdate: at(-150), nextUpdate: at(20), nextRefresh: at(-0.1), from: "status" },
  ];
  const served: StatusRow[] = [
    { namespace: "shop", secret: "web-tls", config: "web", status: "Good", served: { endpoints: 2, served: 2 }, from: "status" },
    { namespace: "shop", secret: "api-tls", config: "web", status: "Good", served: { endpoints: 2, served: 1, worst: "OldStaple" }, from: "status" },
    { namespace: "shop", secret: "cdn-tls", config: "web", status: "Good", served: { endpoints: 1, served: 0, worst: "NoStaple" }, from: "status" },
  ];

  void it("durations as kubectl prints ages", () => {
    const s = 1000, m = 60 * s, h = 60 * m, d = 24 * h;
    const cases: [number, string][] = [[-5 * s, "0s"], [0, "0s"], [45 * s, "45s"], [119 * s, "119s"], [3 * m + 20 * s, "3m20s"], [5 * m, "5m"], [25 * m, "25m"], [179 * m, "179m"], [5 * h + 10 * m, "5h10m"], [170 * m, "170m"], [3 * h, "3h"], [6 * h, "6h"], [20 * h, "20h"], [3 * d + 4 * h, "3d4h"], [3 * d, "3d"], [30 * d, "30d"], [2 * 365 * d + 10 * d, "2y10d"], [9 * 365 * d, "9y"]];
    for (const [ms, text] of cases) assert.equal(humanDuration(ms), text, `${ms} ms`);
  });

  void it("a kubectl-style table: aligned columns, '-' for nothing known, SERVED '-' without endpoints, no colour when not a terminal", () => {
    const text = renderTable(rows, { now: NOW, wide: false, allNamespaces: false, colour: false });
    assert.equal(text, [
      "SECRET    CONFIG   STATUS    AGE    LEFT   NEXT-REFRESH   SERVED   ERROR",
      "api-tls   web      Failing   -      -      -              -        ResponderTimeout",
      "web-tls   web      Good      3h     3d4h   30m            -        -",
      "cdn-tls   web      Good      6d6h   20h    due 6m ago     -        -",
      "",
    ].join("\n"));
    assert.ok(!text.includes("\u001b"), "no escape codes");
  });

  void it("SERVED: served/endpoints, then the worst other state when not all are Served; '-' when no endpoint names the Secret", () => {
    const text = renderTable([...served, rows[2] as StatusRow], { now: NOW, wide: false, allNamespaces: false, colour: false });
    assert.deepEqual(text.split("\n").map((line) => /^(\S+)\s.*\s(-|\d+\/\d+(?: \w+)?)\s+-$/.exec(line)?.slice(1)), [undefined, ["web-tls", "2/2"], ["api-tls", "1/2 OldStaple"], ["cdn-tls", "0/1 NoStaple"], ["cdn-tls", "-"], undefined]);
    const coloured = renderTable(served, { now: NOW, wide: false, allNamespaces: false, colour: true }).split("\n");
    assert.ok(!coloured[1]?.includes("\u001b"), "all Served is plain");
    assert.ok(coloured[2]?.includes("\u001b[33m1/2 OldStaple\u001b[0m"), "an older staple still served is yellow");
    assert.ok(coloured[3]?.includes("\u001b[31m0/1 NoStaple\u001b[0m"), "no staple is red");
  });

  void it("-A adds NAMESPACE first; -o wide the message (on one line), serial, responder and the staple's Secret", () => {
    const text = renderTable(rows, { now: NOW, wide: true, allNamespaces: true, colour: false });
    const [header, failing, goodRow] = text.split("\n");
    assert.match(header ?? "", /^NAMESPACE\s+SECRET\s+CONFIG\s+STATUS\s+AGE\s+LEFT\s+NEXT-REFRESH\s+SERVED\s+ERROR\s+MESSAGE\s+SERIAL\s+RESPONDER\s+STAPLE-SECRET$/);
    assert.match(failing ?? "", /^shop\s+api-tls\s+web\s+Failing\s.*ResponderTimeout\s+no answer in 10s\s+-\s+-\s+-$/);
    assert.match(goodRow ?? "", /0a1b\s+http:\/\/ocsp\.example\/\s+web-tls-ocsp$/);
  });

  void it("colours only when asked: red for failing and its code, yellow for less than a day left; alignment unchanged", () => {
    const coloured = renderTable(rows, { now: NOW, wide: false, allNamespaces: false, colour: true });
    const lines = coloured.split("\n");
    assert.ok(lines[1]?.includes("\u001b[31mFailing\u001b[0m"));
    assert.ok(lines[1]?.includes("\u001b[31mResponderTimeout\u001b[0m"));
    assert.ok(lines[3]?.includes("\u001b[33m20h\u001b[0m"));
    assert.ok(!lines[2]?.includes("\u001b"), "a good staple with days left is plain");
    // eslint-disable-next-line no-control-regex
    assert.equal(coloured.replace(/\u001b\[\d+m/g, ""), renderTable(rows, { now: NOW, wide: false, allNamespaces: false, colour: false }));
  });

  void it("-o json: an array of objects, every key always there (null when unknown), times RFC 3339", () => {
    const parsed = JSON.parse(renderJson(rows)) as Record<string, unknown>[];
    const keys = ["namespace", "secret", "config", "status", "serial", "thisUpdate", "nextUpdate", "nextRefresh", "served", "error", "responder", "staple", "from"];
    for (const entry of parsed) assert.deepEqual(Object.keys(entry), keys);
    assert.deepEqual(parsed[0], { namespace: "shop", secret: "api-tls", config: "web", status: "Failing", serial: null, thisUpdate: null, nextUpdate: null, nextRefresh: null, served: null, error: { code: "ResponderTimeout", message: "no answer\nin 10s" }, responder: null, staple: null, from: "status" });
    assert.equal(parsed[1]?.nextUpdate, at(76));
    assert.deepEqual(jsonRow(rows[1] as StatusRow).error, null);
    assert.deepEqual(served.map((row) => jsonRow(row).served), [{ endpoints: 2, served: 2 }, { endpoints: 2, served: 1, worst: "OldStaple" }, { endpoints: 1, served: 0, worst: "NoStaple" }]);
  });
});
