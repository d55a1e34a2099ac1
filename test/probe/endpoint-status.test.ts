// The endpoints' part of a StapleConfig's status: entries worst first then by
// address, at most 20; endpointsServed; the Served condition (True, Unknown
// while some are not probed yet, False with the worst state) and, in
// computeStatus, present only when the spec lists endpoints.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { computeStatus } from "../../src/controller/config-status.ts";
import type { EndpointState } from "../../src/probe/endpoint-state.ts";
import { endpointsStatus, MAX_ENDPOINT_ENTRIES } from "../../src/probe/endpoint-status.ts";
import type { EndpointResult } from "../../src/probe/prober.ts";

const SINCE = Date.parse("2026-12-01T10:00:00Z");
function result(address: string, state: EndpointState, extra: { serverName?: string; servedThisUpdateMs?: number } = {}): EndpointResult {
  return {
    target: { id: address, config: "web/cfg", endpoint: { address, ...(extra.serverName === undefined ? {} : { serverName: extra.serverName }) }, intervalMs: 60_000, timeoutMs: 10_000, propagationGraceMs: 300_000 },
    judgement: { state, reachable: state !== "Unreachable", message: `${state} at ${address}`, ...(extra.servedThisUpdateMs === undefined ? {} : { servedThisUpdateMs: extra.servedThisUpdateMs }) },
    secret: "shop-tls", sinceMs: SINCE,
  };
}

void describe("endpointsStatus", () => {
  void it("lists the worst first, then by address; counts the served; False with the worst state and its endpoint", () => {
    const status = endpointsStatus([
      result("b:443", "Served", { servedThisUpdateMs: Date.parse("2026-12-01T09:00:00Z") }), result("a:443", "Served"), result("c:443", "OldStaple"), result("d:443", "NoStaple", { serverName: "shop.example" }), result("e:443", "Unreachable"),
    ]);
    assert.deepEqual(status.entries.map((entry) => [entry.address, entry.state]), [["e:443", "Unreachable"], ["d:443", "NoStaple"], ["c:443", "OldStaple"], ["a:443", "Served"], ["b:443", "Served"]]);
    assert.equal(status.served, 2);
    assert.deepEqual(status.entries.find((entry) => entry.address === "b:443"), { address: "b:443", secret: "shop-tls", state: "Served", message: "Served at b:443", servedThisUpdate: "2026-12-01T09:00:00Z", since: "2026-12-01T10:00:00Z" });
    assert.equal(status.entries.find((entry) => entry.address === "d:443")?.serverName, "shop.example");
    assert.deepEqual(status.condition, { status: "False", reason: "Unreachable", message: "2 of 5 endpoints serve the current staple; e:443: Unreachable: Unreachable at e:443" });
  });

  void it("True when every endpoint serves the current staple; Unknown while some are not probed and none fails", () => {
    assert.deepEqual(endpointsStatus([result("a:443", "Served"), result("b:443", "Served")]).condition, { status: "True", reason: "AllServed", message: "2 of 2 endpoints serve the current staple" });
    const pending = endpointsStatus([result("a:443", "Served"), result("b:443", "Pending", { serverName: "x.example" })]).condition;
    assert.deepEqual([pending.status, pending.reason, pending.message], ["Unknown", "Pending", "1 of 2 endpoints serve the current staple; the others are not probed yet"]);
  });

  void it("lists at most 20, failing first, and still counts them all", () => {
    const results = [...Array.from({ length: 30 }, (_, index) => result(`ok-${String(index).padStart(2, "0")}:443`, "Served")), result("z-bad:443", "NoStaple")];
    const status = endpointsStatus(results);
    assert.equal(status.entries.length, MAX_ENDPOINT_ENTRIES);
    assert.equal(status.entries[0]?.address, "z-bad:443");
    assert.equal(status.served, 30);
  });

  void it("computeStatus: the Served condition and the endpoints only when the spec lists endpoints", () => {
    const now = new Date(SINCE);
    const without = computeStatus(1, [], [], undefined, now);
    assert.deepEqual(without.conditions.map((condition) => condition.type), ["Ready", "Degraded"]);
    assert.equal("endpoints" in without, false);
    const withEndpoints = computeStatus(1, [], [], undefined, now, endpointsStatus([result("a:443", "NoStaple")]));
    assert.deepEqual(withEndpoints.conditions.map((condition) => [condition.type, condition.status, condition.reason]), [["Ready", "True", "NothingSelected"], ["Degraded", "False", "AsExpected"], ["Served", "False", "NoStaple"]]);
    assert.equal(withEndpoints.endpointsServed, 0);
    assert.equal(withEndpoints.endpoints?.length, 1);
  });
});
