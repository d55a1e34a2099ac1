import { PooledKubeConfig } from "../kube/pooled-kube-config.ts";
import type { Scheduler } from "../ocsp/clock.ts";

/**
 * The API server connection of the long-running commands, by kubectl's rules:
 * `--kubeconfig` when given, else in-cluster service account, $KUBECONFIG,
 * ~/.kube/config (client-node's loadFromDefault).
 */
export function loadKubeConfig(kubeconfigPath: string | undefined, clock: Scheduler): PooledKubeConfig {
  const kubeConfig = new PooledKubeConfig(clock);
  if (kubeconfigPath === undefined) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromFile(kubeconfigPath);
  return kubeConfig;
}
