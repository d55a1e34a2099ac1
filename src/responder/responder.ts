import { Watch, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Scheduler } from "../ocsp/clock.ts";
import { FIELD_MANAGER, LABEL } from "../kube/metadata-keys.ts";
import { listPages } from "../kube/paged-list.ts";
import { Reflector } from "../kube/reflector.ts";
import { TLS_SECRET_TYPE } from "../kube/tls-secret.ts";
import { ResponderMetrics } from "./responder-metrics.ts";
import { companionStaples, inPlaceStaples, trimToStaples, type SecretStaples } from "./secret-staples.ts";
import { StapleIndex } from "./staple-index.ts";

export interface ResponderOptions {
  readonly kubeConfig: KubeConfig;
  /** Watch only these namespaces; empty = all. */
  readonly namespaces: readonly string[];
  readonly clock: Scheduler;
  readonly logger: Logger;
}

/**
 * The staples `ocsp-stapler responder` serves, kept in step with the API
 * server: a list+watch of the operator's companion Secrets (by label) and
 * one of TLS Secrets (by type, for InPlace keys), each Secret cut down to its
 * staples before anything stores it. Only reads: its RBAC is get/list/watch
 * on Secrets. While the API server cannot be reached it keeps serving what
 * it holds (each staple only until its usable end), so its health does not
 * depend on the API server: a restart would only lose the staples.
 */
export class Responder {
  readonly index = new StapleIndex();
  readonly metrics = new ResponderMetrics(() => this.index.size);
  private readonly reflectors: Reflector<SecretStaples>[] = [];
  private isSynced = false;
  private readonly options: ResponderOptions;

  constructor(options: ResponderOptions) {
    this.options = options;
  }

  get synced(): boolean {
    return this.isSynced;
  }

  /** Lists every cache (retrying until the API server answers); resolves once synced, or when stopped before that. */
  async start(): Promise<void> {
    const watch = new Watch(this.options.kubeConfig);
    const scopes = this.options.namespaces.length === 0 ? [undefined] : this.options.namespaces;
    for (const namespace of scopes) {
      this.reflectors.push(
        this.reflector(watch, namespace, "companions", { labelSelector: `${LABEL.managedBy}=${FIELD_MANAGER}` }, companionStaples),
        this.reflector(watch, namespace, "tls-secrets", { fieldSelector: `type=${TLS_SECRET_TYPE}` }, inPlaceStaples),
      );
    }
    const synced = await Promise.all(this.reflectors.map((reflector) => reflector.start()));
    if (!synced.every(Boolean)) return;
    this.isSynced = true;
    this.options.logger.info({ staples: this.index.size }, "caches synced; serving staples");
  }

  stop(): void {
    for (const reflector of this.reflectors) reflector.stop();
  }

  private reflector(watch: Watch, namespace: string | undefined, kind: string, selector: Record<string, string>, read: (raw: unknown) => SecretStaples | undefined): Reflector<SecretStaples> {
    const path = namespace === undefined ? "/api/v1/secrets" : `/api/v1/namespaces/${namespace}/secrets`;
    return new Reflector<SecretStaples>({
      name: namespace === undefined ? kind : `${kind}/${namespace}`,
      list: () => listPages(this.options.kubeConfig, path, selector, trimToStaples),
      watch,
      watchPath: path,
      watchQuery: selector,
      transform: read,
      keyOf: (secret) => `${secret.namespace}/${secret.name}`,
      // Companions and InPlace keys are separate sources: a TLS Secret and its companion may both hold a staple.
      onChange: (key, secret) => { this.index.set(`${kind}/${key}`, secret?.staples ?? []); },
      logger: this.options.logger,
      server: this.options.kubeConfig.getCurrentCluster()?.server ?? "",
      clock: this.options.clock,
    });
  }
}
