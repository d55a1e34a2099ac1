import { createLogger } from "../observe/logger.ts";
import { startHealthServer } from "../observe/health-server.ts";
import { Responder } from "../responder/responder.ts";
import { startResponderServer } from "../responder/responder-server.ts";
import { listFlag, parseCommandLine, stringFlag } from "./args.ts";
import type { CommandContext } from "./command-context.ts";
import { EXIT, type ExitStatus } from "./exit-status.ts";
import { shutdownSignal } from "./shutdown-signal.ts";
import { loadKubeConfig } from "./load-kube-config.ts";

export const RESPONDER_HELP = `Usage: ocsp-stapler responder [--kubeconfig F] [--namespace NS …] [--listen :8080] [--metrics-addr :9090]

Serves the verified staples the operator wrote (companion Secrets and InPlace
keys) as an OCSP responder (RFC 6960 Appendix A, RFC 5019), for servers that
can only fetch a staple from a URL: Apache httpd (SSLStaplingForceURL),
LiteSpeed, F5, nginx (ssl_stapling_responder). It never signs and never asks
the CA: a certificate without a current staple gets "unauthorized".

Options:
  --kubeconfig F      use this kubeconfig (default: in-cluster service account,
                      else $KUBECONFIG, else ~/.kube/config)
  --namespace NS      read staples only in this namespace (repeat for several;
                      default all)
  --listen A          answer OCSP requests here: GET {any path}/{base64 request}
                      and POST application/ocsp-request (default :8080)
  --metrics-addr A    serve /metrics, /healthz and /readyz here (default :9090)
  -h, --help          show this help

Until the staples have been read once, every request gets "tryLater" and
/readyz answers 503. Logs are JSON lines on stdout; LOG_LEVEL sets the level.
Stops gracefully on SIGTERM or SIGINT.
`;

const OPTIONS = {
  kubeconfig: { type: "string" }, namespace: { type: "string", multiple: true },
  listen: { type: "string" }, "metrics-addr": { type: "string" },
} as const;

/** Runs until SIGTERM/SIGINT (or `stop` resolves, in tests); returns the exit status. */
export async function runResponder(args: readonly string[], context: CommandContext, stop: Promise<unknown> = shutdownSignal()): Promise<ExitStatus | "help"> {
  const { values } = parseCommandLine(args, OPTIONS, { min: 0, max: 0 });
  if (values.help === true) return "help";
  const kubeConfig = loadKubeConfig(stringFlag(values, "kubeconfig"), context.clock);
  const namespaces = listFlag(values, "namespace");
  const logger = createLogger();
  const responder = new Responder({ kubeConfig, namespaces, clock: context.clock, logger });
  const health = await startHealthServer(stringFlag(values, "metrics-addr") ?? ":9090", { ready: () => responder.synced, registry: responder.metrics.registry });
  try {
    const ocsp = await startResponderServer({
      address: stringFlag(values, "listen") ?? ":8080", index: responder.index, ready: () => responder.synced,
      clock: context.clock, metrics: responder.metrics, logger,
    });
    try {
      logger.info({ server: kubeConfig.getCurrentCluster()?.server, namespaces: namespaces.length === 0 ? "all" : namespaces, ocspPort: ocsp.port, metricsPort: health.port }, "starting");
      // A signal ends the wait for the first sync too: start() retries an API server that does not answer.
      await Promise.race([responder.start(), stop]);
      await stop;
      logger.info({ reason: "signal" }, "stopping");
      return EXIT.good;
    } finally {
      responder.stop();
      await ocsp.close();
    }
  } finally {
    await Promise.all([kubeConfig.destroy(), health.close()]);
  }
}
