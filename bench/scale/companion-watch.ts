import { Watch, type KubeConfig } from "@kubernetes/client-node";

/**
 * Counts the companion Secrets that hold a staple, from one watch (the
 * server sends each change once). Polling LISTs of tens of thousands of
 * Secrets instead would load the API server the bench is measuring.
 */
export class CompanionWatch {
  private readonly stapled = new Set<string>();
  private abort: AbortController | undefined;
  private stopped = false;
  private readonly watch: Watch;
  private readonly namespace: string;

  private constructor(kubeConfig: KubeConfig, namespace: string) {
    this.watch = new Watch(kubeConfig);
    this.namespace = namespace;
  }

  static async start(kubeConfig: KubeConfig, namespace: string): Promise<CompanionWatch> {
    const watch = new CompanionWatch(kubeConfig, namespace);
    await watch.connect();
    return watch;
  }

  get count(): number {
    return this.stapled.size;
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }

  /** Without a resourceVersion the server first sends every existing companion as ADDED, so a reconnect loses nothing. */
  private async connect(): Promise<void> {
    this.abort = await this.watch.watch(`/api/v1/namespaces/${this.namespace}/secrets`, { labelSelector: "app.kubernetes.io/managed-by=ocsp-stapler" },
      (type, object: { metadata?: { name?: string }; data?: Record<string, string> }) => {
        const name = object.metadata?.name ?? "";
        if (type === "DELETED" || Object.keys(object.data ?? {}).length === 0) this.stapled.delete(name);
        else if (type === "ADDED" || type === "MODIFIED") this.stapled.add(name);
      },
      () => { if (!this.stopped) void this.connect(); });
  }
}
