// /healthz tells a liveness probe when the controller cannot recover by itself:
// caches that never synced, or that have failed every LIST and watch, for
// longer than the stuck limit. Before that limit it answers OK (the API server
// may be starting: a restart would not help). The clock is moved, never waited on.
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { pino } from "pino";
import { Controller } from "../../src/controller/controller.ts";
import { PooledKubeConfig } from "../../src/kube/pooled-kube-config.ts";
import { startHealthServer } from "../../src/observe/health-server.ts";
import { systemClock, type Scheduler } from "../../src/ocsp/clock.ts";
import { UndiciTransport } from "../../src/ocsp/undici-transport.ts";
import { freePort } from "../support/free-port.ts";
import { localGet } from "../support/local-get.ts";
import { waitFor } from "../support/wait-for.ts";

const transport = new UndiciTransport();
after(async () => { await transport.close(); });

void it("/healthz fails once the caches have not synced for longer than the stuck limit, naming the server", async () => {
  const server = `http://127.0.0.1:${String(await freePort())}`; // nothing listens there
  const kubeConfig = new PooledKubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "c", server, skipTLSVerify: true }], users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }], currentContext: "x",
  });
  let offsetMs = 0;
  const clock: Scheduler = { ...systemClock, now: () => new Date(Date.now() + offsetMs) };
  const controller = new Controller({ kubeConfig, namespaces: ["default"], transport, clock, random: () => 0.5, logger: pino({ level: "silent" }), stuckAfterMs: 5 * 60_000 });
  const health = await startHealthServer("127.0.0.1:0", { ready: () => controller.synced, unhealthy: () => controller.unhealthy(), registry: controller.metrics.registry });
  const starting = controller.start();
  try {
    await waitFor(async () => (/ocsp_stapler_watch_ends_total\{reflector="stapleconfigs\/default",end="failed"\} [1-9]/.test(await controller.metrics.registry.metrics()) ? true : undefined), "a failed LIST", 10_000);
    assert.equal((await localGet(health.port, "/healthz")).status, 200, "failing, but not for long: it may recover");
    offsetMs = 4 * 60_000;
    assert.equal(controller.unhealthy(), undefined);
    offsetMs = 6 * 60_000;
    const answer = await localGet(health.port, "/healthz");
    assert.equal(answer.status, 503);
    assert.match(answer.body, new RegExp(`^the (tls-secrets|companions|stapleconfigs)/default cache has failed to list or watch ${server} for 36\\d s\\n$`));
    assert.equal((await localGet(health.port, "/readyz")).status, 503);
  } finally {
    await controller.stop();
    await starting;
    await Promise.all([health.close(), kubeConfig.destroy()]);
  }
});
