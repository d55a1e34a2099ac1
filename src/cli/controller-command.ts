import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { Scheduler } from "../ocsp/clock.ts";
import { Controller } from "../controller/controller.ts";
import { DEFAULT_FETCHER_LIMITS } from "../controller/staple-fetcher.ts";
import { UndiciTransport } from "../ocsp/undici-transport.ts";
import { createLogger } from "../observe/logger.ts";
import { startHealthServer } from "../observe/health-server.ts";
import { listFlag, parseCommandLine, stringFlag, type ParsedCommandLine } from "./args.ts";
import { UsageError } from "./usage-error.ts";
import type { CommandContext } from "./command-context.ts";
import { EXIT, type ExitStatus } from "./exit-status.ts";
import { shutdownSignal } from "./shutdown-signal.ts";
import { loadKubeConfig } from "./load-kube-config.ts";

export const CONTROLLER_HELP = `Usage: ocsp-stapler controller [--kubeconfig F] [--namespace NS …] [--metrics-addr :8080]

Runs the operator: keeps a verified OCSP staple next to every TLS Secret that
a StapleConfig selects, and reports on each StapleConfig's status.

Options:
  --kubeconfig F      use this kubeconfig (default: in-cluster service account,
                      else $KUBECONFIG, else ~/.kube/config)
  --namespace NS      watch only this namespace (repeat for several; default all)
  --metrics-addr A    serve /metrics, /healthz and /readyz here (default :8080)
  --fetch-rate N      at most N OCSP requests a second to one responder host
                      (default 20: CAs' responders serve everyone)
  --fetch-concurrency N
                      at most N requests in flight to one host (default 4)
  --leader-elect      work only while holding the Lease "ocsp-stapler", so
                      several replicas never both write (the others stand by,
                      caches warm, and take over within 15 s)
  --leader-elect-namespace NS
                      where the Lease lives (default: this pod's namespace
                      in-cluster, else "default")
  --discover-endpoints
                      read Ingresses, Gateways and Services (needs list and
                      watch on them), so StapleConfigs with
                      spec.probe.discover probe the hosts that serve their
                      Secrets
  -h, --help          show this help

Logs are JSON lines on stdout; LOG_LEVEL sets the level (default info).
Stops gracefully on SIGTERM or SIGINT.
`;

const OPTIONS = {
  kubeconfig: { type: "string" }, namespace: { type: "string", multiple: true }, "metrics-addr": { type: "string" },
  "leader-elect": { type: "boolean" }, "leader-elect-namespace": { type: "string" },
  "fetch-rate": { type: "string" }, "fetch-concurrency": { type: "string" },
  "discover-endpoints": { type: "boolean" },
} as const;

/** Runs until SIGTERM/SIGINT (or `stop` resolves, in tests); returns the exit status. */
export async function runController(args: readonly string[], context: CommandContext, stop: Promise<unknown> = shutdownSignal()): Promise<ExitStatus | "help"> {
  const { values } = parseCommandLine(args, OPTIONS, { min: 0, max: 0 });
  if (values.help === true) return "help";
  const fetchLimits = {
    ratePerHostPerSecond: positiveInteger(values, "fetch-rate", DEFAULT_FETCHER_LIMITS.ratePerHostPerSecond),
    concurrencyPerHost: positiveInteger(values, "fetch-concurrency", DEFAULT_FETCHER_LIMITS.concurrencyPerHost),
  };
  const kubeConfig = loadKubeConfig(stringFlag(values, "kubeconfig"), context.clock);
  const namespaces = listFlag(values, "namespace");
  const logger = createLogger();
  const transport = new UndiciTransport();
  let lostLeadership: () => void = () => undefined;
  const lost = new Promise<"lost">((resolve) => { lostLeadership = () => { resolve("lost"); }; });
  const leaderElection = values["leader-elect"] === true
    ? { namespace: stringFlag(values, "leader-elect-namespace") ?? podNamespace(), name: "ocsp-stapler", identity: `${hostname()}-${randomBytes(4).toString("hex")}` }
    : undefined;
  const controller = new Controller({
    kubeConfig, namespaces, transport, clock: context.clock, random: Math.random, logger, fetchLimits,
    ...(leaderElection === undefined ? {} : { leaderElection }), onLostLeadership: lostLeadership,
    onRetryAfter: (ms) => { kubeConfig.holdRequests(ms); },
    discoverEndpoints: values["discover-endpoints"] === true,
  });
  const health = await startHealthServer(stringFlag(values, "metrics-addr") ?? ":8080", {
    ready: () => controller.synced, unhealthy: () => controller.unhealthy(), registry: controller.metrics.registry,
  });
  const stopped = stop.then(() => "signal" as const);
  try {
    logger.info({ server: kubeConfig.getCurrentCluster()?.server, namespaces: namespaces.length === 0 ? "all" : namespaces, metricsPort: health.port }, "starting");
    // A signal ends the wait for the first sync too: start() retries an API server that does not answer.
    const first = await Promise.race([controller.start().then(() => "started" as const), stopped, lost]);
    const reason = first === "started" ? await Promise.race([stopped, lost]) : first;
    logger.info({ reason: reason === "lost" ? "lost leadership" : "signal" }, "stopping");
    return reason === "lost" ? EXIT.failure : EXIT.good;
  } finally {
    const closeConnections = () => Promise.all([kubeConfig.destroy(), transport.destroy()]);
    await stopWithin(controller, context.clock, SHUTDOWN_GRACE_MS, async () => {
      logger.warn({ graceMs: SHUTDOWN_GRACE_MS }, "in-flight requests abandoned at shutdown (writes are guarded and idempotent: the next leader redoes them)");
      await closeConnections();
    });
    // Whatever is still open (a LIST retry to a server that never answers, idle keep-alives) must not hold the process.
    await Promise.all([closeConnections(), health.close()]);
  }
}

/** How long a stop waits for in-flight reconciles (an API write, an OCSP fetch) before abandoning them. */
const SHUTDOWN_GRACE_MS = 1_000;

/**
 * Stops the controller, giving in-flight work `graceMs` to finish; then
 * `abandon` fails whatever is still waiting on the network (an API server or
 * responder that does not answer), so SIGTERM always ends the process soon.
 */
async function stopWithin(controller: Controller, clock: Scheduler, graceMs: number, abandon: () => Promise<void>): Promise<void> {
  const stopping = controller.stop();
  const stopped = new AbortController();
  const inTime = await Promise.race([stopping.then(() => true), clock.sleep(graceMs, stopped.signal).then(() => false)]);
  stopped.abort(); // ends the grace timer once the stop came in time
  if (!inTime) {
    await abandon();
    await stopping;
  }
}

function positiveInteger(values: ParsedCommandLine["values"], name: string, fallback: number): number {
  const text = stringFlag(values, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 10_000) throw new UsageError(`--${name} must be a whole number from 1 to 10000, got "${text}"`);
  return value;
}

/** In a pod, the service account's namespace; elsewhere "default". */
function podNamespace(): string {
  try {
    return readFileSync("/var/run/secrets/kubernetes.io/serviceaccount/namespace", "utf8").trim();
  } catch {
    return "default";
  }
}


