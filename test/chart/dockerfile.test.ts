// The Dockerfile without a Docker engine (none runs here): everything its build stage
// copies exists and gets past .dockerignore, and the final stage is what the chart
// expects. What the image runs is started for real in test/kube/controller-command.test.ts.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";

const ROOT = new URL("../../", import.meta.url);
const dockerfile = readFileSync(new URL("Dockerfile", ROOT), "utf8");
const ignore = readFileSync(new URL(".dockerignore", ROOT), "utf8").split("\n").map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"));

/** .dockerignore as Docker reads it: the last matching pattern wins; "*" and "!path" are all we use. */
function sentToBuild(path: string): boolean {
  let included = true;
  for (const pattern of ignore) {
    const negated = pattern.startsWith("!");
    const body = (negated ? pattern.slice(1) : pattern).replace(/\/$/, "");
    if (body === "*" || path === body || path.startsWith(`${body}/`)) included = negated;
  }
  return included;
}

/** The context paths of every COPY without --from. */
const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((match) => (match[1] ?? "").trim().split(/\s+/).slice(0, -1));

void describe("the Dockerfile", () => {
  void it("copies only files that exist and that .dockerignore sends to the build", () => {
    assert.ok(copied.includes("src/") && copied.includes("scripts/assemble-app.sh"), copied.join(" "));
    for (const path of copied) {
      assert.ok(existsSync(new URL(path, ROOT)), `${path} exists`);
      assert.ok(sentToBuild(path.replace(/\/$/, "")), `${path} passes .dockerignore`);
    }
    assert.ok(!sentToBuild("node_modules") && !sentToBuild("test") && !sentToBuild("dist"), "node_modules, test and dist stay out of the build context");
  });

  void it("builds with the same script as the tests, on Node 24, and runs as non-root `ocsp-stapler controller`", () => {
    assert.match(dockerfile, /^ARG NODE_IMAGE=node:24-/m);
    assert.match(dockerfile, /^RUN scripts\/assemble-app\.sh \/app$/m);
    const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
    assert.match(finalStage, /^COPY --from=build \/app \/app$/m);
    assert.match(finalStage, /^USER 65532:65532$/m);
    assert.match(finalStage, /^ENTRYPOINT \["ocsp-stapler"\]\nCMD \["controller"\]$/m);
    // Both of the chart's Deployments (the controller, the responder) take their pod securityContext from one named template.
    const helpers = readFileSync(new URL("charts/ocsp-stapler/templates/_helpers.tpl", ROOT), "utf8");
    assert.match(helpers, /\{\{- define "ocsp-stapler\.podSecurityContext" -\}\}\n(?:(?!\{\{).*\n)*runAsUser: 65532\n/, "the chart runs the image's user");
    for (const template of ["deployment.yaml", "responder-deployment.yaml"]) {
      const chart = readFileSync(new URL(`charts/ocsp-stapler/templates/${template}`, ROOT), "utf8");
      assert.match(chart, /securityContext: \{\{- include "ocsp-stapler\.podSecurityContext" \. \| nindent 8 \}\}/, `${template} uses it`);
    }
  });
});
