import { ApisApi, type KubeConfig } from "@kubernetes/client-node";
import type { Scheduler } from "../ocsp/clock.ts";

const RETRY_MS = 2_000;

/**
 * Whether the API server serves `group`/`version` (its discovery document,
 * GET /apis), asked until it answers or `stopped` says so. A watch of a kind
 * whose CRD is not installed fails forever (404): the Gateway API is optional,
 * so its cache is started only where it exists (installed later: seen after a
 * restart).
 */
export async function apiGroupServed(kubeConfig: KubeConfig, group: string, version: string, clock: Scheduler, stopped: () => boolean): Promise<boolean> {
  const api = kubeConfig.makeApiClient(ApisApi);
  for (;;) {
    try {
      const groups = await api.getAPIVersions();
      return groups.groups.some((candidate) => candidate.name === group && candidate.versions.some((served) => served.version === version));
    } catch {
      if (stopped()) return false;
      await clock.sleep(RETRY_MS);
    }
  }
}
