import { ApiException } from "@kubernetes/client-node";
import { FIELD_MANAGER, LABEL } from "../kube/metadata-keys.ts";
import { messageOf } from "../ocsp/errors.ts";
import { listPages, METADATA_ONLY_LIST } from "../kube/paged-list.ts";
import { PooledKubeConfig } from "../kube/pooled-kube-config.ts";
import { STAPLE_CONFIG } from "../kube/staple-config.ts";
import { TLS_SECRET_TYPE } from "../kube/tls-secret.ts";
import { choiceFlag, parseCommandLine, stringFlag } from "./args.ts";
import type { CommandContext } from "./command-context.ts";
import { EXIT, type ExitStatus } from "./exit-status.ts";
import { gatherRows, sortRows, statusIsPartial, toSecretMetadata, type SecretMetadata } from "./status-rows.ts";
import { renderJson, renderTable } from "./status-table.ts";
import { UsageError } from "./usage-error.ts";

export const STATUS_HELP = `Usage: ocsp-stapler status [-n NS | -A] [-o wide|json] [--kubeconfig F]

The fleet at a glance: one line per TLS Secret a StapleConfig selects, from
the StapleConfigs' status and the staples' annotations. Failing and revoked
first, then by time left.

Options:
  -n, --namespace NS   this namespace (default: the kubeconfig context's
                       namespace, else "default")
  -A, --all-namespaces every namespace
  -o, --output F       wide: also the error's message, the serial, the
                       responder and the Secret holding the staple;
                       json: an array of objects (stable keys, RFC 3339 times)
  --kubeconfig F       use this kubeconfig (default: in-cluster service account,
                       else $KUBECONFIG, else ~/.kube/config)
  -h, --help           show this help

Columns: STATUS is Good, Revoked, Failing (the last fetch failed: ERROR has
its code) or Pending (no staple yet); AGE is the staple's age (since its
thisUpdate), LEFT the time to its nextUpdate, NEXT-REFRESH when the
controller fetches again. SERVED is what the endpoints of spec.probe that
serve the Secret staple: "2/2" (both serve the current staple), "1/2
OldStaple" (one does; the worst state of the others), "-" when no endpoint
serves it.

Reads stapleconfigs (get, list) and Secrets' metadata only (list; never a
Secret's data). Colours only on a terminal, and never with NO_COLOR set.
Exit status 0 whatever the Secrets' state (as kubectl get); 2 when the API
server cannot be read.
`;

const OPTIONS = {
  kubeconfig: { type: "string" },
  namespace: { type: "string", short: "n" },
  "all-namespaces": { type: "boolean", short: "A" },
  output: { type: "string", short: "o" },
} as const;

/** Prints the table (or JSON) of every selected Secret in one namespace or all. */
export async function runStatus(args: readonly string[], context: CommandContext): Promise<ExitStatus | "help"> {
  const { values } = parseCommandLine(args, OPTIONS, { min: 0, max: 0 });
  if (values.help === true) return "help";
  const output = choiceFlag(values, "output", ["wide", "json"] as const);
  const all = values["all-namespaces"] === true;
  if (all && stringFlag(values, "namespace") !== undefined) throw new UsageError("-n and -A exclude each other");
  const kubeConfig = new PooledKubeConfig(context.clock);
  const kubeconfigPath = stringFlag(values, "kubeconfig");
  if (kubeconfigPath === undefined) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromFile(kubeconfigPath);
  const namespace = all ? undefined : (stringFlag(values, "namespace") ?? contextNamespace(kubeConfig));
  try {
    const { group, version, plural } = STAPLE_CONFIG;
    const scope = namespace === undefined ? "" : `/namespaces/${encodeURIComponent(namespace)}`;
    const configs = (await read(`stapleconfigs${where(namespace)}`, () => listPages(kubeConfig, `/apis/${group}/${version}${scope}/${plural}`, {}, (item) => item))).items;
    const metadataOf = async (what: string, query: Record<string, string>) =>
      (await read(`${what}${where(namespace)}`, () => listPages(kubeConfig, `/api/v1${scope}/secrets`, query, toSecretMetadata, METADATA_ONLY_LIST))).items.filter((item): item is SecretMetadata => item !== undefined);
    const companions = configs.length === 0 ? [] : await metadataOf("companion Secrets", { labelSelector: `${LABEL.managedBy}=${FIELD_MANAGER}` });
    // The TLS Secrets are listed only when a status does not list them all, or InPlace staples' responders are asked for.
    const needTls = configs.some((config) => statusIsPartial(config) || (output === "wide" && isInPlace(config)));
    const tlsSecrets = needTls ? await metadataOf("TLS Secrets", { fieldSelector: `type=${TLS_SECRET_TYPE}` }) : [];
    const { rows, notes } = gatherRows(configs, companions, tlsSecrets);
    const sorted = sortRows(rows);
    for (const note of notes) context.stderr(`note: ${note}\n`);
    if (output === "json") context.stdout(renderJson(sorted));
    else if (sorted.length === 0) context.stderr(configs.length === 0 ? `No StapleConfigs found${namespace === undefined ? "" : ` in ${namespace} namespace`}.\n` : "No Secrets selected.\n");
    else context.stdout(renderTable(sorted, { now: context.clock.now(), wide: output === "wide", allNamespaces: all, colour: context.colour === true }));
    return EXIT.good;
  } finally {
    await kubeConfig.destroy();
  }
}

/** The current context's namespace, as kubectl takes it (in-cluster: the service account's). */
function contextNamespace(kubeConfig: PooledKubeConfig): string {
  const namespace = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace?.trim();
  return namespace === undefined || namespace === "" ? "default" : namespace;
}

function where(namespace: string | undefined): string {
  return namespace === undefined ? " in all namespaces" : ` in namespace "${namespace}"`;
}

function isInPlace(config: unknown): boolean {
  return (config as { spec?: { target?: { mode?: unknown } } } | null)?.spec?.target?.mode === "InPlace";
}

/** An API failure as one line a person can act on (RBAC, a missing CRD), not client-node's dump. */
async function read<T>(what: string, list: () => Promise<T>): Promise<T> {
  try {
    return await list();
  } catch (error) {
    if (!(error instanceof ApiException)) {
      // undici says "fetch failed" and keeps the reason (ECONNREFUSED, a bad certificate) in its cause.
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
      throw new Error(`cannot list ${what}: ${messageOf(error)}${cause}`, { cause: error });
    }
    const reason = (() => {
      try { return (JSON.parse(String(error.body)) as { message?: string }).message; } catch { return undefined; }
    })();
    const hint = error.code === 404 ? " (is the StapleConfig CRD installed?)" : error.code === 401 || error.code === 403 ? " (see README, \"Commands\": status needs get/list on stapleconfigs and list on secrets)" : "";
    throw new Error(`cannot list ${what}: ${String(error.code)}${reason === undefined ? "" : ` ${reason}`}${hint}`, { cause: error });
  }
}
