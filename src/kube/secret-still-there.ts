import { ApiException, setHeaderOptions, type CoreV1Api } from "@kubernetes/client-node";

/** Metadata only: the answer carries no `tls.key` (PartialObjectMetadata, as client-go's metadata client asks). */
const METADATA_ONLY = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

/**
 * Whether a Secret the cache holds is still on the API server, the same
 * object (a Secret deleted and created again under its name has another uid).
 * An uncached read, for the one moment the cache cannot be trusted: two
 * watches keep no common order, so the garbage collector's deletion of a
 * companion can arrive before the deletion of its TLS Secret (after a relist,
 * or while the TLS Secret watch reconnects), and the companion would be
 * written again for a Secret that is gone.
 */
export async function secretStillThere(api: CoreV1Api, secret: { readonly namespace: string; readonly name: string; readonly uid: string }): Promise<boolean> {
  try {
    const live = await api.readNamespacedSecret({ name: secret.name, namespace: secret.namespace }, setHeaderOptions("Accept", METADATA_ONLY));
    return live.metadata?.uid === secret.uid;
  } catch (error) {
    if (error instanceof ApiException && error.code === 404) return false;
    throw error;
  }
}
