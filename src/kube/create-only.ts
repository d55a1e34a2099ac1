import { ApiException } from "@kubernetes/client-node";

/**
 * 2^64 − 1: the largest resourceVersion the API server accepts (it parses a
 * uint64), and one no stored object ever has (etcd's revisions count up
 * from 1, one per write). Not "0": that means no precondition at all.
 */
const NEVER_STORED = "18446744073709551615";

/**
 * A server-side apply body that creates its object if there is none and
 * changes nothing if there is one: the same body with a resourceVersion no
 * stored object has. kube-apiserver compares an applied resourceVersion only
 * with an existing object's (optimistic concurrency: 409 Conflict, nothing
 * written) and ignores it when the apply creates the object
 * (k8s.io/apiserver, registry Store.Update). So one request, and no GET,
 * creates a new companion, and a Secret of that name (someone else's, an
 * immutable one, ours not cached yet) is never touched by it: the
 * comparison comes before validation and validating admission, so an
 * immutable Secret answers 409, not 422.
 *
 * Why not a POST: the object it creates has its fields owned by an `Update`
 * entry of our field manager, apart from the `Apply` entry our later writes
 * use. A later apply that drops a data key or a label (a StapleConfig's
 * `target.keys` or `target.labels` changed) then leaves it in place, still
 * owned by that `Update` entry (test/kube/companion-secret.test.ts shows
 * both). The create-only apply leaves one `Apply` entry, exactly as an apply
 * that creates the object always has.
 */
export function createOnly<Body extends { readonly metadata: object }>(body: Body): Body & { readonly metadata: { readonly resourceVersion: string } } {
  return { ...body, metadata: { ...body.metadata, resourceVersion: NEVER_STORED } };
}

/**
 * A create-only apply's answer when an object of that name exists, and
 * nothing was written: 409, Conflict (the stored resourceVersion is not
 * NEVER_STORED) or AlreadyExists (should it be created meanwhile).
 */
export function alreadyExists(error: unknown): boolean {
  return error instanceof ApiException && error.code === 409;
}
