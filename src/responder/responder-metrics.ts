import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** How one HTTP request ended: the answer's kind, or the HTTP-level refusal. */
export type RequestResult = "staple" | "not_modified" | "unauthorized" | "malformed" | "try_later" | "refused" | "error";

/**
 * The responder's Prometheus metrics. The hit ratio is
 * `sum(rate(…_requests_total{result=~"staple|not_modified"}[5m])) /
 * sum(rate(…_requests_total{result=~"staple|not_modified|unauthorized"}[5m]))`.
 */
export class ResponderMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"method" | "result">;
  readonly seconds: Histogram<"method">;

  constructor(staplesHeld: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: "ocsp_stapler_responder_" });
    this.requests = new Counter({
      name: "ocsp_stapler_responder_requests_total",
      help: "OCSP requests answered, by HTTP method and result (staple, not_modified, unauthorized: no current staple for the CertID, malformed, try_later: before the staples were first read, refused: too large, wrong method; error: a fault of the responder's own).",
      labelNames: ["method", "result"], registers: [this.registry],
    });
    this.seconds = new Histogram({
      name: "ocsp_stapler_responder_request_duration_seconds",
      help: "Time from a request's last byte to its answer, by HTTP method.",
      labelNames: ["method"], buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25], registers: [this.registry],
    });
    new Gauge({ name: "ocsp_stapler_responder_staples", help: "Staples held and servable by CertID.", registers: [this.registry], collect() { this.set(staplesHeld()); } });
  }
}
