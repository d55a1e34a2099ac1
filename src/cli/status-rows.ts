import { selectorMatches } from "../kube/label-selector.ts";
import { ANNOTATION, LABEL } from "../kube/metadata-keys.ts";
import { toStapleConfig, type StapleConfig } from "../kube/staple-config.ts";
import { isStringMap } from "../kube/tls-secret.ts";
import { ENDPOINT_LIST_LIMIT, servedBySecret, type ServedSummary } from "./served-summary.ts";

/** What a row says of its Secret, worst first. */
export type RowStatus = "Failing" | "Revoked" | "Pending" | "Good";

/**
 * One selected TLS Secret as `ocsp-stapler status` shows it. Times are RFC
 * 3339 as the controller wrote them; absent when unknown (never made up).
 */
export interface StatusRow {
  readonly namespace: string;
  readonly secret: string;
  readonly config: string;
  readonly status: RowStatus;
  readonly serial?: string;
  readonly thisUpdate?: string;
  readonly nextUpdate?: string;
  readonly nextRefresh?: string;
  readonly error?: { readonly code: string; readonly message: string };
  /** The responder that answered (the staple holder's annotation). */
  readonly responder?: string;
  /** The Secret holding the staple: the companion, or the TLS Secret itself in InPlace mode. */
  readonly staple?: string;
  /** What the probed endpoints naming this Secret serve (spec.probe); absent when none names it. */
  readonly served?: ServedSummary;
  /**
   * `status`: the StapleConfig's status entry. `annotations`: a Secret beyond
   * the 50 a status lists, read from its staple's annotations (no error, no
   * next refresh: the controller writes those to the status only).
   */
  readonly from: "status" | "annotations";
}

/** A Secret's metadata, as a metadata-only LIST gives it: never its data. */
export interface SecretMetadata {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface Gathered {
  readonly rows: StatusRow[];
  /** What the table cannot show exactly (printed on stderr). */
  readonly notes: string[];
}

/** The metadata of a listed Secret (PartialObjectMetadata or a full object: only `metadata` is read). */
export function toSecretMetadata(raw: unknown): SecretMetadata | undefined {
  const metadata = (raw as { metadata?: { namespace?: unknown; name?: unknown; labels?: unknown; annotations?: unknown } } | null)?.metadata;
  if (typeof metadata?.namespace !== "string" || typeof metadata.name !== "string") return undefined;
  return {
    namespace: metadata.namespace, name: metadata.name,
    labels: isStringMap(metadata.labels) ? metadata.labels : {},
    annotations: isStringMap(metadata.annotations) ? metadata.annotations : {},
  };
}

interface RawEntry { name?: unknown; serial?: unknown; certStatus?: unknown; thisUpdate?: unknown; nextUpdate?: unknown; nextRefresh?: unknown; staple?: unknown; error?: { code?: unknown; message?: unknown } }
/** A status entry with its name and error checked. */
type Entry = Omit<RawEntry, "name" | "error"> & { readonly name: string; readonly error: { code: string; message: string } | undefined };
interface RawStatus { selected?: unknown; failing?: unknown; secrets?: unknown; endpoints?: unknown }

/** The most Secrets one status lists (config-status.ts); beyond them the table reads the staples' annotations. */
export const STATUS_LIST_LIMIT = 50;

/**
 * Whether a status lists fewer Secrets than its config selects (more than 50):
 * then the TLS Secrets' metadata is needed to name the others.
 */
export function statusIsPartial(rawConfig: unknown): boolean {
  const status = statusOf(rawConfig);
  const listedOwned = entriesOf(status).filter((entry) => entry.error?.code !== "Conflict").length;
  return numberOf(status.selected) > listedOwned;
}

/**
 * The rows of every config's Secrets. A status lists at most 50 Secrets,
 * failing first: when a config selects more, the others (which are then not
 * failing, unless more than 50 are) are found among `tlsSecrets` by the
 * config's selector (each Secret to the oldest config that selects it, as the
 * controller decides) and shown from their staple's annotations. Conflict
 * entries (a Secret an older config owns) are rows of the newer config too.
 */
export function gatherRows(rawConfigs: readonly unknown[], companions: readonly SecretMetadata[], tlsSecrets: readonly SecretMetadata[]): Gathered {
  const rows: StatusRow[] = [];
  const notes: string[] = [];
  const companionByName = new Map(companions.map((secret) => [`${secret.namespace}/${secret.name}`, secret]));
  const tlsByName = new Map(tlsSecrets.map((secret) => [`${secret.namespace}/${secret.name}`, secret]));
  const configs = rawConfigs.map((raw) => ({ raw, config: toStapleConfig(raw) })).filter((item): item is { raw: unknown; config: StapleConfig } => item.config !== undefined);
  for (const { raw, config } of configs) {
    const status = statusOf(raw);
    const holderOf = (name: string) => (config.target.mode === "InPlace" ? tlsByName : companionByName).get(`${config.namespace}/${name}`);
    if ((raw as { status?: unknown }).status === undefined) notes.push(`${config.namespace}/${config.name}: no status yet (is the controller running and watching this namespace?)`);
    const entries = entriesOf(status);
    const served = servedBySecret(status.endpoints);
    const listedEndpoints = Array.isArray(status.endpoints) ? status.endpoints.length : 0;
    // A status lists at most 20 endpoints, failing first: beyond them, counts would look worse than they are.
    if (listedEndpoints >= ENDPOINT_LIST_LIMIT && config.probe.endpoints.length > listedEndpoints) {
      notes.push(`${config.namespace}/${config.name}: ${config.probe.endpoints.length} endpoints probed, its status lists ${listedEndpoints} (failing first); SERVED counts those listed, the metrics have every one`);
    }
    const withServed = (row: StatusRow): StatusRow => { const summary = served.get(row.secret); return summary === undefined ? row : { ...row, served: summary }; };
    for (const entry of entries) {
      const staple = stringOf(entry.staple);
      rows.push(withServed(rowOfEntry(config, entry, staple === undefined ? undefined : holderOf(staple))));
    }
    if (!statusIsPartial(raw)) continue;
    const listed = new Set(entries.map((entry) => entry.name));
    const listedFailing = entries.filter((entry) => entry.error !== undefined && entry.error.code !== "Conflict").length;
    const failingBeyond = numberOf(status.failing) > listedFailing;
    if (failingBeyond) notes.push(`${config.namespace}/${config.name}: ${numberOf(status.failing)} Secrets failing, its status lists ${listedFailing}; the others show the staple they have (or Failing when none), their errors are in Events and the controller's logs`);
    for (const secret of tlsSecrets) {
      if (listed.has(secret.name) || ownerOf(configs.map((item) => item.config), secret) !== config) continue;
      const holder = config.target.mode === "InPlace" ? (secret.annotations[ANNOTATION.stapleKeys] === undefined ? undefined : secret) : companionOf(companionByName, config, secret);
      rows.push(withServed(rowOfAnnotations(config, secret.name, holder, failingBeyond)));
    }
  }
  return { rows, notes };
}

/** Failing and revoked first, then by time left (none left first), then by namespace and name. */
export function sortRows(rows: readonly StatusRow[]): StatusRow[] {
  const problem = (row: StatusRow) => (row.status === "Failing" || row.status === "Revoked" ? 0 : 1);
  const left = (row: StatusRow) => (row.nextUpdate === undefined ? Number.NEGATIVE_INFINITY : Date.parse(row.nextUpdate));
  return [...rows].sort((a, b) => problem(a) - problem(b) || compareNumbers(left(a), left(b)) || a.namespace.localeCompare(b.namespace) || a.secret.localeCompare(b.secret) || a.config.localeCompare(b.config));
}

function compareNumbers(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1;
}

function rowOfEntry(config: StapleConfig, entry: Entry, holder: SecretMetadata | undefined): StatusRow {
  const certStatus = stringOf(entry.certStatus);
  const staple = stringOf(entry.staple);
  const status: RowStatus = certStatus === "Revoked" ? "Revoked" : entry.error !== undefined ? "Failing" : staple !== undefined && certStatus === "Good" ? "Good" : "Pending";
  return compact<StatusRow>({
    namespace: config.namespace, secret: entry.name, config: config.name, status,
    serial: stringOf(entry.serial), thisUpdate: stringOf(entry.thisUpdate), nextUpdate: stringOf(entry.nextUpdate), nextRefresh: stringOf(entry.nextRefresh),
    error: entry.error, responder: holder?.annotations[ANNOTATION.responder], staple, from: "status",
  });
}

function rowOfAnnotations(config: StapleConfig, secret: string, holder: SecretMetadata | undefined, failingBeyond: boolean): StatusRow {
  const annotations = holder?.annotations ?? {};
  const certStatus = annotations[ANNOTATION.certStatus];
  const status: RowStatus = certStatus === "revoked" ? "Revoked" : certStatus === "good" ? "Good" : failingBeyond ? "Failing" : "Pending";
  return compact<StatusRow>({
    namespace: config.namespace, secret, config: config.name, status,
    serial: annotations[ANNOTATION.serial], thisUpdate: annotations[ANNOTATION.thisUpdate], nextUpdate: annotations[ANNOTATION.nextUpdate],
    responder: annotations[ANNOTATION.responder], staple: certStatus === undefined ? undefined : holder?.name, from: "annotations",
  });
}

/** Companion mode: `<name><nameSuffix>`, if it is ours and says it belongs to that Secret. */
function companionOf(companions: ReadonlyMap<string, SecretMetadata>, config: StapleConfig, secret: SecretMetadata): SecretMetadata | undefined {
  const companion = companions.get(`${secret.namespace}/${secret.name}${config.target.nameSuffix}`);
  return companion?.labels[LABEL.source] === secret.name ? companion : undefined;
}

/** The config that owns a Secret: the oldest that selects it, then by name (the controller's ownership.ts). */
function ownerOf(configs: readonly StapleConfig[], secret: SecretMetadata): StapleConfig | undefined {
  return configs
    .filter((config) => config.namespace === secret.namespace && selectorMatches(config.selector, secret.labels))
    .sort((a, b) => a.creationTimestamp.localeCompare(b.creationTimestamp) || a.name.localeCompare(b.name))[0];
}

function statusOf(rawConfig: unknown): RawStatus {
  const status = (rawConfig as { status?: unknown } | null)?.status;
  return status !== null && typeof status === "object" ? status : {};
}

function entriesOf(status: RawStatus): Entry[] {
  const secrets = Array.isArray(status.secrets) ? (status.secrets as RawEntry[]) : [];
  return secrets.flatMap((entry) => {
    if (typeof entry.name !== "string") return [];
    const code = stringOf(entry.error?.code);
    return [{ ...entry, name: entry.name, error: code === undefined ? undefined : { code, message: stringOf(entry.error?.message) ?? "" } }];
  });
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function numberOf(value: unknown): number {
  return typeof value === "number" ? value : 0;
}

/** Drops the keys whose value is undefined (exactOptionalPropertyTypes). */
function compact<T extends object>(row: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(row).filter(([, value]) => value !== undefined)) as T;
}
