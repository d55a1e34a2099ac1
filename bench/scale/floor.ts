import { randomUUID } from "node:crypto";
import type { CoreV1Api } from "@kubernetes/client-node";
import { Pool } from "undici";
import type { ControlPlane } from "../../test/control-plane/control-plane.ts";
import { inParallel } from "../support/in-parallel.ts";

/** What a companion Secret carries, so the floor writes the same bytes the controller does. */
export interface CompanionShape {
  /** The DER staple, as the responder signs it for one of the bench's certificates. */
  readonly staple: Uint8Array;
  /** The annotations the controller sets (values of the same length as its own). */
  readonly annotations: Readonly<Record<string, string>>;
}

const NAMESPACE = "bench-floor";
const CONCURRENCY = 8;

/**
 * The floor the scale run is compared with: the least an API client must
 * spend to put `count` companion-sized Secrets on this API server. A bare
 * HTTP client (undici, keep-alive, no parsing of answers, no OCSP, nothing
 * cached) sends one server-side apply per Secret, 8 at a time, with the same
 * labels, annotations, owner reference shape and staple bytes as a companion,
 * into a scratch namespace that is deleted afterwards. Returns the seconds
 * from the first request to the last answer.
 */
export async function measureFloor(plane: ControlPlane, core: CoreV1Api, count: number, shape: CompanionShape): Promise<number> {
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
  const pool = new Pool(plane.server, { connections: CONCURRENCY, connect: { ca: plane.caPem } });
  const data = Buffer.from(shape.staple).toString("base64");
  // A real owner would be the TLS Secret; no garbage collector runs in the bench, so any uid will do.
  const owner = randomUUID();
  const started = performance.now();
  try {
    await inParallel(Array.from({ length: count }, (_, i) => i), CONCURRENCY, async (i) => {
      const source = `site-${String(i)}-tls`;
      const body = JSON.stringify({
        apiVersion: "v1", kind: "Secret", type: "Opaque",
        metadata: {
          name: `${source}-ocsp`, namespace: NAMESPACE,
          labels: { "app.kubernetes.io/managed-by": "ocsp-stapler", "ocsp-stapler.io/source": source },
          annotations: shape.annotations,
          ownerReferences: [{ apiVersion: "v1", kind: "Secret", name: source, uid: owner }],
        },
        data: { "tls.ocsp": data },
      });
      const response = await pool.request({
        method: "PATCH",
        path: `/api/v1/namespaces/${NAMESPACE}/secrets/${source}-ocsp?fieldManager=bench-floor&force=true`,
        headers: { authorization: `Bearer ${plane.token}`, "content-type": "application/apply-patch+yaml", accept: "application/json" },
        body,
      });
      await response.body.dump();
      if (response.statusCode !== 200 && response.statusCode !== 201) throw new Error(`floor apply answered ${String(response.statusCode)}`);
    });
    return (performance.now() - started) / 1000;
  } finally {
    await pool.close();
    await removeNamespace(core);
  }
}

/**
 * Deletes the scratch namespace. The bench's control plane runs no namespace
 * controller, so the bench empties it and clears its finalizer itself (what
 * that controller would do), or the namespace would stay Terminating.
 */
async function removeNamespace(core: CoreV1Api): Promise<void> {
  await core.deleteCollectionNamespacedSecret({ namespace: NAMESPACE });
  await core.deleteNamespace({ name: NAMESPACE });
  await core.replaceNamespaceFinalize({ name: NAMESPACE, body: { metadata: { name: NAMESPACE }, spec: { finalizers: [] } } });
}
