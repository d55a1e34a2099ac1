import { selectorMatches } from "../kube/label-selector.ts";
import type { StapleConfig } from "../kube/staple-config.ts";
import type { TlsSecret } from "../kube/tls-secret.ts";

/**
 * The StapleConfigs that select a Secret, oldest first (then by name). The
 * first owns it; the others report Conflict (DESIGN.md). Age decides so that
 * ownership never flips back and forth as configs are edited.
 */
export function selectingConfigs(configs: Iterable<StapleConfig>, secret: TlsSecret): StapleConfig[] {
  return [...configs]
    .filter((config) => config.namespace === secret.namespace && selectorMatches(config.selector, secret.labels))
    .sort((a, b) => a.creationTimestamp.localeCompare(b.creationTimestamp) || a.name.localeCompare(b.name));
}
