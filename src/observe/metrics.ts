import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { EndpointSample } from "../probe/endpoint-state.ts";

/** One selected TLS Secret as the staple gauges see it; times in epoch milliseconds. */
export interface StapleSample {
  readonly namespace: string;
  readonly secret: string;
  readonly config: string;
  readonly certStatus: string;
  readonly nextUpdateMs?: number;
  readonly nextRefreshMs?: number;
  /** The certificate names no OCSP responder (CRL-only). */
  readonly noResponder?: boolean;
  /** A must-staple certificate without a staple (failing, or withdrawn). */
  readonly mustStapleUnstapled?: boolean;
}

/** What the metrics read at scrape time: the controller's caches, never a copy that could go stale. */
export interface MetricsSource {
  readonly queueDepth: () => number;
  /** One entry per selected TLS Secret with a staple in place. */
  readonly staples: () => Iterable<StapleSample>;
  /** One entry per probed endpoint (spec.probe); absent: no prober, no endpoint series. */
  readonly endpoints?: () => Iterable<EndpointSample>;
}

/**
 * The operator's Prometheus metrics. Staple gauges are computed when scraped
 * (cert-manager's certificate collector), so a deleted Secret leaves no
 * stale series; times are `*_timestamp_seconds`.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly fetches: Counter<"responder" | "result">;
  readonly fetchSeconds: Histogram<"responder">;
  readonly reconciles: Counter<"result">;
  readonly apiWrites: Counter<"kind">;
  readonly watchEnds: Counter<"reflector" | "end">;
  /** Probes of served staples by what they found: `result` is the EndpointState (the prober increments it). */
  readonly probes: Counter<"result">;

  constructor(source: MetricsSource) {
    collectDefaultMetrics({ register: this.registry, prefix: "ocsp_stapler_" });
    this.fetches = new Counter({ name: "ocsp_stapler_fetch_total", help: "OCSP fetches by responder host and result (good, revoked, unknown or an error code).", labelNames: ["responder", "result"], registers: [this.registry] });
    this.fetchSeconds = new Histogram({ name: "ocsp_stapler_fetch_duration_seconds", help: "Time to fetch and verify one OCSP response, by responder host.", labelNames: ["responder"], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
    this.reconciles = new Counter({ name: "ocsp_stapler_reconcile_total", help: "Reconciles by result (done, requeued, error).", labelNames: ["result"], registers: [this.registry] });
    this.apiWrites = new Counter({ name: "ocsp_stapler_api_writes_total", help: "Writes to the API server by kind (companion, in-place, delete, status, event).", labelNames: ["kind"], registers: [this.registry] });
    this.watchEnds = new Counter({ name: "ocsp_stapler_watch_ends_total", help: "LISTs and watches of the API server that ended, by cache and how (closed and idle are normal, gone relists, failed backs off).", labelNames: ["reflector", "end"], registers: [this.registry] });
    this.probes = new Counter({ name: "ocsp_stapler_endpoint_probes_total", help: "Probes of the staple endpoints serve, by result: the endpoint's state (Served, OldStaple, NoStaple, InvalidStaple, CertificateMismatch, Unreachable).", labelNames: ["result"], registers: [this.registry] });
    new Gauge({ name: "ocsp_stapler_queue_depth", help: "Keys waiting in the work queue.", registers: [this.registry], collect() { this.set(source.queueDepth()); } });
    const labels = ["namespace", "secret", "config"] as const;
    new Gauge({
      name: "ocsp_stapler_staple_next_update_timestamp_seconds", help: "nextUpdate of the staple in place (when it expires).", labelNames: labels, registers: [this.registry],
      collect() { this.reset(); for (const s of source.staples()) if (s.nextUpdateMs !== undefined) this.set({ namespace: s.namespace, secret: s.secret, config: s.config }, s.nextUpdateMs / 1000); },
    });
    new Gauge({
      name: "ocsp_stapler_staple_next_refresh_timestamp_seconds", help: "When the staple is next refreshed.", labelNames: labels, registers: [this.registry],
      collect() { this.reset(); for (const s of source.staples()) if (s.nextRefreshMs !== undefined) this.set({ namespace: s.namespace, secret: s.secret, config: s.config }, s.nextRefreshMs / 1000); },
    });
    new Gauge({
      name: "ocsp_stapler_certificates_without_responder", help: "Selected Secrets whose certificate names no OCSP responder (its CA turned OCSP off: CRL-only, nothing to staple), by StapleConfig.", labelNames: ["namespace", "config"], registers: [this.registry],
      collect() {
        this.reset();
        for (const s of source.staples()) if (s.noResponder === true) this.inc({ namespace: s.namespace, config: s.config });
      },
    });
    new Gauge({
      name: "ocsp_stapler_must_staple_unstapled", help: "1 for each must-staple certificate (TLS Feature status_request) that has no staple: browsers that enforce must-staple refuse it.", labelNames: labels, registers: [this.registry],
      collect() { this.reset(); for (const s of source.staples()) if (s.mustStapleUnstapled === true) this.set({ namespace: s.namespace, secret: s.secret, config: s.config }, 1); },
    });
    new Gauge({
      name: "ocsp_stapler_cert_status", help: "Selected Secrets by the certificate status of their staple (good, revoked, unknown, none).", labelNames: ["status"], registers: [this.registry],
      collect() {
        this.reset();
        const counts = new Map<string, number>([["good", 0], ["revoked", 0], ["unknown", 0], ["none", 0]]);
        for (const s of source.staples()) counts.set(s.certStatus, (counts.get(s.certStatus) ?? 0) + 1);
        for (const [status, count] of counts) this.set({ status }, count);
      },
    });
    registerEndpointGauges(this.registry, source.endpoints ?? (() => []));
  }
}

/**
 * What servers actually staple, one series per probed endpoint, computed at
 * scrape time from the prober's last results. A gauge is left out for an
 * endpoint where it means nothing (no staple age without a staple), so an
 * alert on it never fires on an endpoint that is merely unreachable: that is
 * ocsp_stapler_endpoint_up's alert.
 */
function registerEndpointGauges(registry: Registry, endpoints: () => Iterable<EndpointSample>): void {
  const labelNames = ["namespace", "config", "endpoint", "secret"] as const;
  const labels = (s: EndpointSample) => ({ namespace: s.namespace, config: s.config, endpoint: s.endpoint, secret: s.secret });
  const gauge = (name: string, help: string, value: (s: EndpointSample) => number | undefined) => new Gauge({
    name, help, labelNames, registers: [registry],
    collect() {
      this.reset();
      for (const sample of endpoints()) {
        const v = value(sample);
        if (v !== undefined) this.set(labels(sample), v);
      }
    },
  });
  const flag = (value: boolean | undefined) => (value === undefined ? undefined : value ? 1 : 0);
  gauge("ocsp_stapler_endpoint_up", "1 when a TLS handshake with the endpoint completed at its last probe, else 0.", (s) => (s.reachable ? 1 : 0));
  gauge("ocsp_stapler_endpoint_staple_served", "1 when the endpoint served a staple that verifies and has not expired at its last probe, else 0; only endpoints that answered.", (s) => (s.reachable ? (s.stapleServed === true ? 1 : 0) : undefined));
  gauge("ocsp_stapler_endpoint_staple_age_seconds", "Seconds since thisUpdate of the staple the endpoint served.", (s) => s.stapleAgeSeconds);
  gauge("ocsp_stapler_endpoint_staple_behind_seconds", "How much older the served staple is than the stored one (thisUpdate to thisUpdate); 0 when it is the stored one or newer.", (s) => s.behindSeconds);
  gauge("ocsp_stapler_endpoint_certificate_matches", "1 when the endpoint serves the leaf certificate of its TLS Secret, else 0.", (s) => flag(s.certificateMatches));
}

