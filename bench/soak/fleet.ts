import { KubeEnv } from "../../test/support/kube-env.ts";
import { freePort } from "../../test/support/free-port.ts";
import { startOpensslResponder, type OpensslResponder } from "../../test/support/openssl-responder.ts";
import { createRootCa, goodEntry, type Issued, type TestCa } from "../../test/support/pki.ts";
import { inParallel } from "../support/in-parallel.ts";

export interface FleetOptions {
  readonly secrets: number;
  /** Responses are valid this many whole minutes (`openssl ocsp -nmin`). */
  readonly validityMinutes: number;
  readonly fraction: number;
}

/** What the soak runs against: a real API server, a CA with its `openssl ocsp` responder, and the selected TLS Secrets. */
export interface Fleet {
  readonly env: KubeEnv;
  readonly ca: TestCa;
  readonly responder: OpensslResponder;
  /** Events stored in the namespace: the controller records them about Secrets and the StapleConfig. */
  countEvents(): Promise<number>;
  stop(): Promise<void>;
}

const LABELS = { staple: "soak" };

/**
 * Sets the fleet up: N leaves with distinct certificates, each in its own
 * TLS Secret, and one StapleConfig selecting them all. It refreshes at
 * `fraction` of the validity; minInterval is the CRD's floor (1m), which a
 * 2-minute validity refreshed at 0.5 just meets. Retries are short, so a
 * failed fetch is retried well within the staple's remaining minute.
 */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const env = await KubeEnv.start("default");
  const ca = await createRootCa({ name: "soak", key: "p256" });
  const port = await freePort();
  const leaves: Issued[] = [];
  await inParallel(Array.from({ length: options.secrets }, (_, i) => i), 8, async (i) => {
    leaves.push(await ca.issue({ commonName: `site-${String(i)}.example`, ocspUrl: `http://127.0.0.1:${String(port)}/` }));
  });
  const responder = await startOpensslResponder({ ca, indexPath: await ca.writeIndex(leaves.map(goodEntry)), port, nmin: options.validityMinutes });
  await inParallel(leaves.map((leaf, i) => ({ leaf, i })), 16, ({ leaf, i }) => env.createTls(`site-${String(i)}-tls`, leaf, ca, LABELS));
  await env.applyConfig("soak", {
    secretSelector: { matchLabels: LABELS },
    refresh: { fraction: options.fraction, minInterval: "1m", retry: { initial: "2s", max: "15s" } },
  });
  return {
    env, ca, responder,
    // One item and the server's count of the rest: no need to download tens of thousands of Events.
    countEvents: async () => {
      const list = await env.core.listNamespacedEvent({ namespace: "default", limit: 1 });
      return list.items.length + (list.metadata?.remainingItemCount ?? 0);
    },
    stop: async () => {
      await responder.stop();
      await env.stop();
      await ca.cleanup();
    },
  };
}
