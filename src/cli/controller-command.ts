import { KubeConfig } from "@kubernetes/client-node";
import { Controller } from "../controller/controller.ts";
import { UndiciTransport } from "../ocsp/undici-transport.ts";
import { createLogger } from "../observe/logger.ts";
import { startHealthServer } from "../observe/health-server.ts";
import { parseCommandLine, stringFlag } from "./args.ts";
import type { CommandContext } from "./command-context.ts";
import { EXIT, type ExitStatus } from "./exit-status.ts";
import { UsageError } from "./usage-error.ts";

export const CONTROLLER_HELP = `Usage: ocsp-stapler controller [--kubeconfig F] [--namespace NS …] [--metrics-addr :8080]

Runs the operator: keeps a verified OCSP staple next to every TLS Secret that
a StapleConfig selects, and reports on each StapleConfig's status.

Options:
  --kubeconfig F      use this kubeconfig (default: in-cluster service account,
                      else $KUBECONFIG, else ~/.kube/config)
  --namespace NS      watch only this namespace (repeat for several; default all)
  --metrics-addr A    serve /metrics, /healthz and /readyz here (default :8080)
  --leader-elect      (not available yet: run one replica)
  -h, --help          show this help

Logs are JSON lines on stdout; LOG_LEVEL sets the level (default info).
Stops gracefully on SIGTERM or SIGINT.
`;

const OPTIONS = {
  kubeconfig: { type: "string" }, namespace: { type: "string", multiple: true }, "metrics-addr": { type: "string" }, "leader-elect": { type: "boolean" },
} as const;

/** Runs until SIGTERM/SIGINT (or `stop` resolves, in tests); returns the exit status. */
export async function runController(args: readonly string[], context: CommandContext, stop: Promise<unknown> = shutdownSignal()): Promise<ExitStatus | "help"> {
  const { values } = parseCommandLine(args, OPTIONS, { min: 0, max: 0 });
  if (values.help === true) return "help";
  if (values["leader-elect"] === true) throw new UsageError("--leader-elect is not available yet; run a single replica");
  const kubeConfig = new KubeConfig();
  const kubeconfigPath = stringFlag(values, "kubeconfig");
  if (kubeconfigPath === undefined) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromFile(kubeconfigPath);
  const rawNamespaces: unknown = (values as Record<string, unknown>).namespace;
  const namespaces = Array.isArray(rawNamespaces) ? rawNamespaces.filter((entry): entry is string => typeof entry === "string") : [];
  const logger = createLogger();
  const transport = new UndiciTransport();
  const controller = new Controller({ kubeConfig, namespaces, transport, clock: context.clock, random: Math.random, logger });
  const health = await startHealthServer(stringFlag(values, "metrics-addr") ?? ":8080", { ready: () => controller.synced, registry: controller.metrics.registry });
  logger.info({ namespaces: namespaces.length === 0 ? "all" : namespaces, metricsPort: health.port }, "starting");
  await controller.start();
  await stop;
  logger.info("stopping");
  await controller.stop();
  await Promise.all([health.close(), transport.close()]);
  return EXIT.good;
}

function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
}


