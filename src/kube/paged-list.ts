import { ApiException, HttpMethod, RequestContext, type KubeConfig } from "@kubernetes/client-node";
import { fetch } from "undici";
import type { ListResult } from "./reflector.ts";

/** Metadata only (PartialObjectMetadataList, as client-go's metadata client asks): a Secret comes without its data. */
export const METADATA_ONLY_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

/** Items per LIST page: big enough to be few requests, small enough that one page's JSON is a few MiB at most. */
const PAGE_SIZE = 500;

/**
 * A LIST read page by page (`limit` and `continue`, all pages from one
 * snapshot of etcd), each item cut down by `keep` as soon as its page is
 * parsed. client-node's listNamespacedSecret holds the whole answer at once,
 * twice (the parsed JSON and its typed copy, Dates and all): 10,000 TLS
 * Secrets with their keys and managedFields were a transient 100+ MiB at
 * every start and relist, while the caches keep a tenth of that. Here a page
 * is garbage once its items are cut down. Requests go through the
 * KubeConfig's authentication and connection pool like every other call;
 * a failure is thrown as client-node's ApiException, so callers read its
 * status and Retry-After as for any API call. `accept` may ask for
 * METADATA_ONLY_LIST: then no item carries its data.
 */
export async function listPages(kubeConfig: KubeConfig, path: string, query: Readonly<Record<string, string>>, keep: (item: unknown) => unknown, accept = "application/json"): Promise<ListResult> {
  const server = kubeConfig.getCurrentCluster()?.server;
  if (server === undefined) throw new Error("No currently active cluster");
  const items: unknown[] = [];
  let resourceVersion = "";
  let next: string | undefined;
  do {
    const url = new URL(server + path);
    for (const [key, value] of Object.entries({ ...query, limit: String(PAGE_SIZE), ...(next === undefined ? {} : { continue: next }) })) url.searchParams.set(key, value);
    const context = new RequestContext(url.toString(), HttpMethod.GET);
    context.setHeaderParam("Accept", accept);
    await kubeConfig.applySecurityAuthentication(context);
    const dispatcher = context.getDispatcher();
    const response = await fetch(url, { headers: context.getHeaders(), ...(dispatcher === undefined ? {} : { dispatcher }) });
    if (response.status !== 200) {
      const body = await response.text();
      throw new ApiException(response.status, `LIST ${path} answered ${String(response.status)}`, body, Object.fromEntries(response.headers));
    }
    const page = await response.json() as { items?: unknown[]; metadata?: { resourceVersion?: string; continue?: string } };
    for (const item of page.items ?? []) items.push(keep(item));
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    next = page.metadata?.continue === "" ? undefined : page.metadata?.continue;
  } while (next !== undefined);
  return { items, resourceVersion };
}
