/**
 * Third-party CRDs, so that a server-side dry run can validate objects of
 * their kinds on the test API server: for the examples in manifests/examples/,
 * the Gateway API's Gateway and GatewayClass (standard channel) and Istio's
 * Gateway; for the chart's optional monitoring objects, the Prometheus
 * Operator's ServiceMonitor and PrometheusRule. Fetched once from the Go
 * module proxy (each project publishes its CRDs in its Go module) and cached
 * under node_modules/.cache; nothing is verified beyond that the expected
 * files are in the archive.
 */
import { execFile } from "node:child_process";
import { access, mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { makeTempDir, removeTempDir } from "./tmp.ts";

const run = promisify(execFile);
const CACHE = fileURLToPath(new URL("../../node_modules/.cache/ocsp-stapler/crds/", import.meta.url));
const PROXY = "https://proxy.golang.org";

export const GATEWAY_API_VERSION = "v1.7.0";
export const ISTIO_API_VERSION = "v1.32.0";
export const PROMETHEUS_OPERATOR_VERSION = "v0.85.0";

interface Source {
  /** Which set of CRDs this source belongs to. */
  readonly set: CrdSet;
  readonly module: string;
  readonly version: string;
  /** Path inside the module → the CRD names (metadata.name) to keep from it. */
  readonly files: Readonly<Record<string, readonly string[]>>;
}

const SOURCES: readonly Source[] = [
  {
    set: "gateways",
    module: "sigs.k8s.io/gateway-api",
    version: GATEWAY_API_VERSION,
    files: {
      "config/crd/standard/gateway.networking.k8s.io_gatewayclasses.yaml": ["gatewayclasses.gateway.networking.k8s.io"],
      "config/crd/standard/gateway.networking.k8s.io_gateways.yaml": ["gateways.gateway.networking.k8s.io"],
    },
  },
  {
    set: "gateways",
    module: "istio.io/api",
    version: ISTIO_API_VERSION,
    files: { "kubernetes/customresourcedefinitions.gen.yaml": ["gateways.networking.istio.io"] },
  },
  {
    set: "monitoring",
    module: "github.com/prometheus-operator/prometheus-operator",
    version: PROMETHEUS_OPERATOR_VERSION,
    files: {
      "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml": ["servicemonitors.monitoring.coreos.com"],
      "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml": ["prometheusrules.monitoring.coreos.com"],
    },
  },
];

/** `gateways`: what the examples' gateways need; `monitoring`: what the chart's ServiceMonitor and PrometheusRule need. */
export type CrdSet = "gateways" | "monitoring";

/** The CRDs of a set, by name (for `kubectl wait crd/<name>`). */
export function crdNames(set: CrdSet): string[] {
  return SOURCES.filter((source) => source.set === set).flatMap((source) => Object.values(source.files).flat());
}

/** The one document of a multi-document YAML stream that defines the CRD `name`. */
function crdDocument(yaml: string, name: string): string {
  const found = yaml.split(/^---\s*$/m).find((document) => new RegExp(`^  name: ${name.replaceAll(".", "\\.")}\\s*$`, "m").test(document));
  if (found === undefined) throw new Error(`no CustomResourceDefinition ${name} in the module`);
  return found.trim() + "\n";
}

/** The cached file holding the CRD `name` of one module version. */
function cachePath(source: Source, name: string): string {
  return join(CACHE, `${source.module.replaceAll("/", "_")}@${source.version}`, `${name}.yaml`);
}

async function fetchSource(source: Source): Promise<void> {
  const url = `${PROXY}/${source.module}/@v/${source.version}.zip`;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  const work = await makeTempDir("third-party-crds");
  try {
    const zip = join(work, "module.zip");
    await writeFile(zip, Buffer.from(await response.arrayBuffer()));
    for (const [file, names] of Object.entries(source.files)) {
      // Module zips hold every file under "<module>@<version>/".
      const { stdout } = await run("unzip", ["-p", zip, `${source.module}@${source.version}/${file}`], { maxBuffer: 64 * 1024 * 1024 });
      for (const name of names) {
        // Written beside the cache entry and renamed, so an interrupted fetch leaves no half file.
        const target = cachePath(source, name);
        await mkdir(join(target, ".."), { recursive: true });
        await writeFile(`${target}.partial`, crdDocument(stdout, name));
        await rename(`${target}.partial`, target);
      }
    }
  } finally {
    await removeTempDir(work);
  }
}

/** Paths of a set's cached CRD files, fetching whatever is missing. */
export async function crdFiles(set: CrdSet): Promise<string[]> {
  const paths: string[] = [];
  for (const source of SOURCES.filter((candidate) => candidate.set === set)) {
    const wanted = Object.values(source.files).flat().map((name) => cachePath(source, name));
    const present = await Promise.all(wanted.map((path) => access(path).then(() => true, () => false)));
    if (!present.every(Boolean)) await fetchSource(source);
    paths.push(...wanted);
  }
  return paths;
}
