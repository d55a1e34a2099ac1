// The served-staple gauges and the probe counter, as Prometheus scrapes them:
// computed from the prober's samples at scrape time, each only where it means something.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Metrics } from "../../src/observe/metrics.ts";
import type { EndpointSample } from "../../src/probe/endpoint-state.ts";

const base = { namespace: "shop", config: "web" } as const;
const served: EndpointSample = { ...base, endpoint: "ingress.shop.svc:443/www.example", secret: "web-tls", state: "Served", reachable: true, stapleServed: true, stapleAgeSeconds: 3600, behindSeconds: 0, certificateMatches: true };
const old: EndpointSample = { ...base, endpoint: "10.0.0.7:443", secret: "web-tls", state: "OldStaple", reachable: true, stapleServed: true, stapleAgeSeconds: 90_000, behindSeconds: 43_200, certificateMatches: true };
const none: EndpointSample = { ...base, endpoint: "10.0.0.8:443", secret: "web-tls", state: "NoStaple", reachable: true, stapleServed: false, certificateMatches: true };
const mismatch: EndpointSample = { ...base, endpoint: "10.0.0.9:443", secret: "", state: "CertificateMismatch", reachable: true, stapleServed: false, certificateMatches: false };
const down: EndpointSample = { ...base, endpoint: "10.0.0.10:443", secret: "web-tls", state: "Unreachable", reachable: false };

/** The exposition lines of one metric, without its HELP and TYPE. */
function series(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${name}{`));
}

void describe("metrics: probed endpoints", () => {
  void it("every endpoint is up or not; served, age, behind and certificate-matches only where the probe saw them", async () => {
    let samples: EndpointSample[] = [served, old, none, mismatch, down];
    const metrics = new Metrics({ queueDepth: () => 0, staples: () => [], endpoints: () => samples });
    const text = await metrics.registry.metrics();
    const labels = (sample: EndpointSample) => `{namespace="shop",config="web",endpoint="${sample.endpoint}",secret="${sample.secret}"}`;
    assert.deepEqual(series(text, "ocsp_stapler_endpoint_up"), [`ocsp_stapler_endpoint_up${labels(served)} 1`, `ocsp_stapler_endpoint_up${labels(old)} 1`, `ocsp_stapler_endpoint_up${labels(none)} 1`, `ocsp_stapler_endpoint_up${labels(mismatch)} 1`, `ocsp_stapler_endpoint_up${labels(down)} 0`]);
    // An unreachable endpoint has no staple_served series: its own alert is endpoint_up's.
    assert.deepEqual(series(text, "ocsp_stapler_endpoint_staple_served"), [`ocsp_stapler_endpoint_staple_served${labels(served)} 1`, `ocsp_stapler_endpoint_staple_served${labels(old)} 1`, `ocsp_stapler_endpoint_staple_served${labels(none)} 0`, `ocsp_stapler_endpoint_staple_served${labels(mismatch)} 0`]);
    assert.deepEqual(series(text, "ocsp_stapler_endpoint_staple_age_seconds"), [`ocsp_stapler_endpoint_staple_age_seconds${labels(served)} 3600`, `ocsp_stapler_endpoint_staple_age_seconds${labels(old)} 90000`]);
    assert.deepEqual(series(text, "ocsp_stapler_endpoint_staple_behind_seconds"), [`ocsp_stapler_endpoint_staple_behind_seconds${labels(served)} 0`, `ocsp_stapler_endpoint_staple_behind_seconds${labels(old)} 43200`]);
    assert.deepEqual(series(text, "ocsp_stapler_endpoint_certificate_matches"), [`ocsp_stapler_endpoint_certificate_matches${labels(served)} 1`, `ocsp_stapler_endpoint_certificate_matches${labels(old)} 1`, `ocsp_stapler_endpoint_certificate_matches${labels(none)} 1`, `ocsp_stapler_endpoint_certificate_matches${labels(mismatch)} 0`]);

    samples = [down];
    const later = await metrics.registry.metrics();
    assert.deepEqual(series(later, "ocsp_stapler_endpoint_up"), [`ocsp_stapler_endpoint_up${labels(down)} 0`], "a removed endpoint leaves no stale series");
    assert.deepEqual(series(later, "ocsp_stapler_endpoint_staple_served"), []);
  });

  void it("without a prober (no endpoints source): the gauges are declared, with no series", async () => {
    const text = await new Metrics({ queueDepth: () => 0, staples: () => [] }).registry.metrics();
    for (const name of ["up", "staple_served", "staple_age_seconds", "staple_behind_seconds", "certificate_matches"]) {
      assert.match(text, new RegExp(`^# TYPE ocsp_stapler_endpoint_${name} gauge$`, "m"));
      assert.deepEqual(series(text, `ocsp_stapler_endpoint_${name}`), [], name);
    }
  });

  void it("probes_total counts probes by result (an endpoint state)", async () => {
    const metrics = new Metrics({ queueDepth: () => 0, staples: () => [] });
    metrics.probes.inc({ result: "Served" });
    metrics.probes.inc({ result: "Served" });
    metrics.probes.inc({ result: "OldStaple" });
    const text = await metrics.registry.metrics();
    assert.match(text, /^# HELP ocsp_stapler_endpoint_probes_total .*result.*state/m);
    assert.deepEqual(series(text, "ocsp_stapler_endpoint_probes_total"), ['ocsp_stapler_endpoint_probes_total{result="Served"} 2', 'ocsp_stapler_endpoint_probes_total{result="OldStaple"} 1']);
  });
});
