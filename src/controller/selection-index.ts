import { configKey, type StapleConfig } from "../kube/staple-config.ts";
import type { TlsSecret } from "../kube/tls-secret.ts";
import { selectingConfigs } from "./ownership.ts";

/**
 * Which StapleConfigs select which TLS Secrets, kept up to date as either
 * changes, so that a config's status is computed from the Secrets it selects
 * (O(selected)) instead of testing every cached Secret against every config
 * (O(Secrets × configs) per status write: 10,000 Secrets under a handful of
 * configs made each status write scan and sort the whole fleet).
 *
 * For each Secret it keeps the selecting configs oldest first, as
 * `selectingConfigs` ranks them: the first owns the Secret, the others list
 * it as Conflict (DESIGN.md).
 */
export class SelectionIndex {
  /** Secret key → keys of the configs that select it, the owner first. */
  private readonly bySecret = new Map<string, readonly string[]>();
  /** Config key → keys of the Secrets it selects (owned or in conflict). */
  private readonly byConfig = new Map<string, Set<string>>();

  /** Indexes everything from scratch (when the caches first sync). */
  rebuild(secrets: ReadonlyMap<string, TlsSecret>, configs: ReadonlyMap<string, StapleConfig>): void {
    this.bySecret.clear();
    this.byConfig.clear();
    for (const [key, secret] of secrets) this.secretChanged(key, secret, configs);
  }

  /**
   * A Secret came, changed or went. Returns the configs that selected it
   * before or select it now: their status may have changed.
   */
  secretChanged(key: string, secret: TlsSecret | undefined, configs: ReadonlyMap<string, StapleConfig>): string[] {
    const before = this.bySecret.get(key) ?? [];
    const now = secret === undefined ? [] : selectingConfigs(configs.values(), secret).map(configKey);
    for (const config of before) this.byConfig.get(config)?.delete(key);
    for (const config of now) {
      let selected = this.byConfig.get(config);
      if (selected === undefined) this.byConfig.set(config, selected = new Set());
      selected.add(key);
    }
    if (now.length === 0) this.bySecret.delete(key);
    else this.bySecret.set(key, now);
    return [...new Set([...before, ...now])];
  }

  /**
   * A config came, went, or changed what decides selection (its selector, or
   * its identity, which ranks it): every Secret of its namespace is ranked
   * again. Returns the configs whose selection may have changed. Status
   * writes change a config too, but not its selection: the caller passes
   * only the changes that matter (`selectionChanged`).
   */
  configChanged(namespace: string, secrets: ReadonlyMap<string, TlsSecret>, configs: ReadonlyMap<string, StapleConfig>): string[] {
    const touched = new Set<string>();
    for (const [key, secret] of secrets) {
      if (secret.namespace !== namespace) continue;
      for (const config of this.secretChanged(key, secret, configs)) touched.add(config);
    }
    for (const [config, selected] of this.byConfig) if (selected.size === 0 && !configs.has(config)) this.byConfig.delete(config);
    return [...touched];
  }

  /** The Secrets a config selects: those it owns and those an older config owns. */
  selectedBy(config: string): ReadonlySet<string> {
    return this.byConfig.get(config) ?? new Set();
  }

  /** The config that owns a Secret (the oldest that selects it), if any. */
  ownerOf(secret: string): string | undefined {
    return this.bySecret.get(secret)?.[0];
  }
}

/** Whether a config's change can change which Secrets it selects or owns (a status write cannot). */
export function selectionChanged(config: StapleConfig | undefined, previous: StapleConfig | undefined): boolean {
  if (config === undefined || previous === undefined) return config !== previous;
  return config.uid !== previous.uid || config.creationTimestamp !== previous.creationTimestamp || JSON.stringify(config.selector) !== JSON.stringify(previous.selector);
}
