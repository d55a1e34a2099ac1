import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { Clock } from "../ocsp/clock.ts";
import type { VerifiedResponse } from "../ocsp/verified-response.ts";
import type { ReloaderReason } from "../staple/reasons.ts";

/** What the gauges read when scraped: the staples the server has from us now. */
export type InstalledSource = () => Iterable<{ readonly name: string; readonly response: VerifiedResponse }>;

/**
 * The reloader's Prometheus metrics. Staple gauges are computed at scrape
 * time from the loop's state (no stale series once a staple is withdrawn).
 * Alert on `ocsp_stapler_reloader_staple_in_use == 0` (the server has no
 * staple from us: withdrawn, expired, never verified) and on
 * `ocsp_stapler_reloader_staple_age_seconds` growing past about half the
 * responder's validity period (staples stopped arriving or verifying). The
 * age and usable-until gauges exist only while a staple is in use; the
 * in-use gauge exists for every pair, so its alert does not resolve itself
 * when the staple goes.
 */
export class ReloaderMetrics {
  readonly registry = new Registry();
  readonly pushes: Counter<"server">;
  readonly errors: Counter<"reason">;
  readonly reloads: Counter<"result">;
  private readonly lastPush: Gauge<"name">;

  constructor(names: readonly string[], installed: InstalledSource, clock: Clock) {
    collectDefaultMetrics({ register: this.registry, prefix: "ocsp_stapler_reloader_" });
    this.pushes = new Counter({ name: "ocsp_stapler_reloader_pushes_total", help: "Verified staples handed to the server (HAProxy runtime API, or nginx files loaded by a reload).", labelNames: ["server"], registers: [this.registry] });
    this.errors = new Counter({ name: "ocsp_stapler_reloader_errors_total", help: "Staples refused (the engine's error code, CertStatusUnknown) and failures to hand one over (HaproxyPushFailed, WriteFailed, NginxConfigTestFailed, NginxReloadFailed).", labelNames: ["reason"], registers: [this.registry] });
    this.reloads = new Counter({ name: "ocsp_stapler_reloader_nginx_reloads_total", help: "nginx reloads by result (reloaded, not-running, failed).", labelNames: ["result"], registers: [this.registry] });
    this.lastPush = new Gauge({ name: "ocsp_stapler_reloader_last_push_timestamp_seconds", help: "When a staple was last handed to the server, by pair name.", labelNames: ["name"], registers: [this.registry] });
    new Gauge({
      name: "ocsp_stapler_reloader_staple_in_use", help: "1 while the server has a verified staple from us, else 0, by pair name.", labelNames: ["name"], registers: [this.registry],
      collect() { const inUse = new Set([...installed()].map((s) => s.name)); for (const name of names) this.set({ name }, inUse.has(name) ? 1 : 0); },
    });
    new Gauge({
      name: "ocsp_stapler_reloader_staple_age_seconds", help: "Now minus thisUpdate of the staple the server has from us, by pair name.", labelNames: ["name"], registers: [this.registry],
      collect() { this.reset(); const now = clock.now().getTime(); for (const s of installed()) this.set({ name: s.name }, (now - s.response.thisUpdate.getTime()) / 1000); },
    });
    new Gauge({
      name: "ocsp_stapler_reloader_staple_usable_until_timestamp_seconds", help: "When the staple the server has from us stops being servable (nextUpdate, signer or leaf expiry), by pair name.", labelNames: ["name"], registers: [this.registry],
      collect() { this.reset(); for (const s of installed()) this.set({ name: s.name }, s.response.usableUntil.getTime() / 1000); },
    });
  }

  pushed(server: string, name: string, at: Date): void {
    this.pushes.inc({ server });
    this.lastPush.set({ name }, at.getTime() / 1000);
  }

  error(reason: ReloaderReason): void {
    this.errors.inc({ reason });
  }
}
