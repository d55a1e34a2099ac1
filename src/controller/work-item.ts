/**
 * What the controller's queue holds: which object to look at, never the
 * object itself (the worker reads the caches when it runs).
 * - `secret`: reconcile one TLS Secret (`namespace/name`);
 * - `status`: write one StapleConfig's status (`namespace/name`), gathered
 *   from the states of the Secrets it owns.
 */
export type WorkItem =
  | { readonly kind: "secret"; readonly key: string }
  | { readonly kind: "status"; readonly config: string };

export const secretItem = (key: string): WorkItem => ({ kind: "secret", key });

export const statusItem = (config: string): WorkItem => ({ kind: "status", config });

/**
 * The identity the queue dedupes and serialises by, and the error backoff
 * counts by. Internal to those two: nobody parses it back. A Secret and a
 * StapleConfig may share a `namespace/name`, so the kind is part of it.
 */
export function workItemId(item: WorkItem): string {
  return item.kind === "secret" ? `secret ${item.key}` : `status ${item.config}`;
}
