import { fileURLToPath } from "node:url";
import { ApiException, CoreV1Api, CustomObjectsApi, type V1Secret } from "@kubernetes/client-node";
import { FIELD_MANAGER, LABEL } from "../../src/kube/metadata-keys.ts";
import { PooledKubeConfig } from "../../src/kube/pooled-kube-config.ts";
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from "../control-plane/control-plane.ts";
import { kubectl } from "./kube-tools.ts";
import { waitFor } from "./wait-for.ts";
import type { Issued, TestCa } from "./pki.ts";

const CRD = fileURLToPath(new URL("../../crds/stapleconfigs.ocsp-stapler.io.yaml", import.meta.url));

/**
 * Polls until `probe` returns a value (not undefined), or fails after
 * `seconds`. API reads that fail (a 404 before the object exists) count as
 * "not yet".
 */
export function eventually<T>(what: string, probe: () => Promise<T | undefined>, seconds = 20, intervalMs?: number): Promise<T> {
  return waitFor(() => probe().catch(() => undefined), what, seconds * 1000, intervalMs);
}

export interface StatusEntry { name: string; error?: { code: string; message?: string }; certStatus?: string; nextUpdate?: string; staple?: string }
export interface ConfigStatus { selected?: number; stapled?: number; failing?: number; conditions?: { type: string; status: string; reason: string }[]; secrets?: StatusEntry[] }

/**
 * A real control plane with the CRD installed and one namespace, plus the
 * small verbs the operator's tests speak in.
 */
export class KubeEnv {
  readonly kubeConfig = new PooledKubeConfig();
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly plane: ControlPlane;
  readonly namespace: string;

  private constructor(plane: ControlPlane, namespace: string) {
    this.plane = plane;
    this.namespace = namespace;
    this.kubeConfig.loadFromFile(plane.kubeconfigPath);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
    this.custom = this.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  /** `installCrd: false` leaves the CRD to the test (the Helm chart installs its own). */
  static async start(namespace: string, options: ControlPlaneOptions & { installCrd?: boolean } = {}): Promise<KubeEnv> {
    const plane = await startControlPlane(options);
    if (options.installCrd !== false) {
      await kubectl(plane.kubeconfigPath, ["apply", "-f", CRD]);
      await kubectl(plane.kubeconfigPath, ["wait", "--for=condition=Established", "crd/stapleconfigs.ocsp-stapler.io"]);
    }
    if (namespace !== "default") await kubectl(plane.kubeconfigPath, ["create", "namespace", namespace]);
    return new KubeEnv(plane, namespace);
  }

  kubectl(args: readonly string[], input?: string): Promise<string> {
    return kubectl(this.plane.kubeconfigPath, args, input);
  }

  applyConfig(name: string, spec: Record<string, unknown>): Promise<string> {
    return this.kubectl(["apply", "-f", "-"], JSON.stringify({ apiVersion: "ocsp-stapler.io/v1alpha1", kind: "StapleConfig", metadata: { name, namespace: this.namespace }, spec }));
  }

  async statusOf(name: string): Promise<ConfigStatus | undefined> {
    const object: unknown = await this.custom.getNamespacedCustomObject({ group: "ocsp-stapler.io", version: "v1alpha1", namespace: this.namespace, plural: "stapleconfigs", name });
    return (object as { status?: ConfigStatus }).status;
  }

  /** A kubernetes.io/tls Secret whose tls.crt is the leaf followed by its issuer. */
  tlsBody(name: string, leaf: Issued, ca: TestCa, labels: Record<string, string>, namespace = this.namespace): V1Secret {
    return {
      metadata: { name, namespace, labels },
      type: "kubernetes.io/tls",
      data: { "tls.crt": Buffer.from(leaf.certPem + ca.certPem).toString("base64"), "tls.key": Buffer.from(leaf.keyPem).toString("base64") },
    };
  }

  async createTls(name: string, leaf: Issued, ca: TestCa, labels: Record<string, string>, namespace = this.namespace): Promise<void> {
    await this.core.createNamespacedSecret({ namespace, body: this.tlsBody(name, leaf, ca, labels, namespace) });
  }

  /** Changes nothing that matters, so the controller looks at the Secret again. */
  async touch(name: string): Promise<void> {
    await this.core.patchNamespacedSecret({ name, namespace: this.namespace, body: [{ op: "add", path: "/metadata/annotations", value: { touched: String(Date.now()) } }] });
  }

  /** The companion Secrets in a namespace (ours by label), as the API server has them now. */
  async companions(namespace = this.namespace): Promise<V1Secret[]> {
    return (await this.core.listNamespacedSecret({ namespace, labelSelector: `${LABEL.managedBy}=${FIELD_MANAGER}` })).items;
  }

  async readSecret(name: string): Promise<V1Secret | undefined> {
    try {
      return await this.core.readNamespacedSecret({ name, namespace: this.namespace });
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }

  async entry(config: string, secret: string, predicate: (entry: StatusEntry) => boolean): Promise<StatusEntry> {
    return eventually(`${secret} in ${config}'s status`, async () => (await this.statusOf(config))?.secrets?.find((candidate) => candidate.name === secret && predicate(candidate)));
  }

  /** The reasons of the Events about one object, oldest first. */
  async eventReasons(kind: string, name: string): Promise<string[]> {
    const events = await this.core.listNamespacedEvent({ namespace: this.namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
    return events.items.sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp))).map((event) => event.reason ?? "");
  }

  stop(): Promise<void> {
    return this.plane.stop();
  }
}

export function conditionOf(status: ConfigStatus | undefined, type: string): { status: string; reason: string } | undefined {
  return status?.conditions?.find((condition) => condition.type === type);
}
