// A TLS Secret deleted and created again under the same name (kubectl delete +
// apply, a restore from backup) before the garbage collector has taken its
// companion: the companion still names the old uid as its owner, so the GC
// would delete it later and leave the live Secret without a staple for a while
// (or, without a GC, keep a companion nobody owns). The controller writes it
// again, owned by the Secret that lives. No GC here, so the old owner stays
// visible until the controller acts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Controller } from "../../src/controller/controller.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { startController } from "../support/in-process-controller.ts";
import { OcspRig } from "../support/ocsp-rig.ts";

const NS = "default";
const LABELS = { staple: "yes" };

void describe("a TLS Secret re-created under the same name", { timeout: 10 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller;

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("owner");
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    controller = await startController(env, rig.transport, { random: () => 0.5 });
  });
  after(async () => {
    await controller.stop();
    await rig.stop();
    await env.stop();
  });

  void it("gets its companion back, owned by the new Secret", async () => {
    const leaf = await rig.leaf("web-tls");
    await env.createTls("web-tls", leaf, rig.ca, LABELS);
    const ownerOf = async () => (await env.readSecret("web-tls-ocsp"))?.metadata?.ownerReferences?.[0]?.uid;
    const first = await eventually("the first companion", ownerOf);
    await env.core.deleteNamespacedSecret({ name: "web-tls", namespace: NS });
    await env.createTls("web-tls", leaf, rig.ca, LABELS);
    const live = (await env.readSecret("web-tls"))?.metadata?.uid;
    assert.notEqual(live, first);
    await eventually("the companion owned by the live Secret", async () => ((await ownerOf()) === live ? true : undefined));
  });
});
