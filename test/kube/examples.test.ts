// Every file in manifests/examples/ on a real API server, in a server-side dry
// run: each object is validated by the schema that owns it (our StapleConfig
// CRD, the Gateway API's and Istio's CRDs, the built-in kinds) and none is
// stored. The InPlace examples must name the key their consumer reads (DESIGN.md,
// "Who reads which key").
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { KubeEnv } from "../support/kube-env.ts";
import { crdFiles, crdNames } from "../support/third-party-crds.ts";

const EXAMPLES = new URL("../../manifests/examples/", import.meta.url);
const FILES = readdirSync(EXAMPLES).filter((name) => name.endsWith(".yaml")).sort();

/** The InPlace examples and the key their consumer reads the staple from. */
const IN_PLACE: Readonly<Record<string, string>> = {
  "istio-gateway.yaml": "tls.ocsp-staple",   // Istio (credentialName), kgateway, Gloo
  "envoy-gateway.yaml": "ocsp.staple",       // Envoy Gateway (proposed API)
};
/** Every key an InPlace consumer reads, as DESIGN.md lists them (nghttpx: tls.ocsp-resp). */
const IN_PLACE_KEYS = new Set([...Object.values(IN_PLACE), "tls.ocsp-resp"]);

interface DryRunObject { kind: string; metadata: { name: string }; spec?: Record<string, unknown> }
interface StapleConfigSpec extends Record<string, unknown> { target: { mode: string; keys: string[] }; refresh: { fraction: number } }

void describe("the examples in manifests/examples on a real API server", { timeout: 10 * 60_000 }, () => {
  let env: KubeEnv;
  const file = (name: string) => new URL(name, EXAMPLES).pathname;
  /** The objects of one example as the API server would store them: defaulted, validated, not stored. */
  const dryRun = async (name: string): Promise<DryRunObject[]> => {
    const output = JSON.parse(await env.kubectl(["apply", "--dry-run=server", "-n", env.namespace, "-o", "json", "-f", file(name)])) as DryRunObject | { kind: "List"; items: DryRunObject[] };
    return "items" in output ? output.items : [output];
  };

  before(async () => {
    env = await KubeEnv.start("examples");
    for (const crd of await crdFiles("gateways")) await env.kubectl(["apply", "--server-side", "-f", crd]);
    await env.kubectl(["wait", "--for=condition=Established", "--timeout=60s", ...crdNames("gateways").map((name) => `crd/${name}`)]);
  });
  after(async () => {
    await env.stop();
  });

  void it("there are examples, the InPlace ones among them", () => {
    assert.ok(FILES.length >= 5, FILES.join(", "));
    for (const name of Object.keys(IN_PLACE)) assert.ok(FILES.includes(name), name);
  });

  for (const name of FILES) {
    void it(`${name} passes a server-side dry run`, async () => {
      const applied = await env.kubectl(["apply", "--dry-run=server", "-n", env.namespace, "-f", file(name)]);
      const lines = applied.trim().split("\n");
      assert.ok(lines.length > 0 && lines.every((line) => line.endsWith("(server dry run)")), applied);
    });
  }

  for (const [name, key] of Object.entries(IN_PLACE)) {
    void it(`${name}: an InPlace StapleConfig writing ${key}, accepted by the CRD's schema`, async () => {
      const configs = (await dryRun(name)).filter((object) => object.kind === "StapleConfig");
      assert.equal(configs.length, 1, name);
      const spec = configs[0]?.spec as StapleConfigSpec | undefined;
      assert.ok(spec !== undefined, name);
      assert.equal(spec.target.mode, "InPlace");
      assert.deepEqual(spec.target.keys, [key]);
      // Defaults filled in: the object went through the CRD's structural schema.
      assert.equal(spec.refresh.fraction, 0.5);
    });
  }

  void it("every InPlace StapleConfig in any example writes only keys an InPlace consumer reads", async () => {
    for (const name of FILES) {
      for (const object of await dryRun(name)) {
        if (object.kind !== "StapleConfig") continue;
        const { target } = object.spec as StapleConfigSpec;
        if (target.mode !== "InPlace") continue;
        for (const key of target.keys) assert.ok(IN_PLACE_KEYS.has(key), `${name}: ${object.metadata.name} writes ${key}`);
      }
    }
  });

  void it("the gateways serve the Secret web-tls", async () => {
    const istio = (await dryRun("istio-gateway.yaml")).find((object) => object.kind === "Gateway");
    assert.deepEqual(istio?.spec?.servers, [{ port: { number: 443, name: "https", protocol: "HTTPS" }, hosts: ["web.example"], tls: { mode: "SIMPLE", credentialName: "web-tls" } }]);
    const gateway = (await dryRun("envoy-gateway.yaml")).find((object) => object.kind === "Gateway");
    const listeners = gateway?.spec?.listeners as { tls?: { certificateRefs?: { name: string }[] } }[] | undefined;
    assert.equal(gateway?.spec?.gatewayClassName, "eg");
    assert.deepEqual(listeners?.map((listener) => listener.tls?.certificateRefs?.map((ref) => ref.name)), [["web-tls"]]);
  });
});
