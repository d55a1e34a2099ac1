import { pino } from "pino";
import { Controller, type ControllerOptions } from "../../src/controller/controller.ts";
import { systemClock } from "../../src/ocsp/clock.ts";
import type { HttpTransport } from "../../src/ocsp/http-transport.ts";
import type { KubeEnv } from "./kube-env.ts";

/**
 * The operator in the test's own process, on the real API server of `env`,
 * watching its namespace, started (caches synced). Logs are silent unless
 * LOG_LEVEL says otherwise; anything else is the test's to change.
 */
export async function startController(env: KubeEnv, transport: HttpTransport, options: Partial<ControllerOptions> = {}): Promise<Controller> {
  const controller = new Controller({
    kubeConfig: env.kubeConfig, namespaces: [env.namespace], transport, clock: systemClock, random: Math.random,
    logger: pino({ level: process.env.LOG_LEVEL ?? "silent" }), ...options,
  });
  await controller.start();
  return controller;
}
