// Backpressure before parsing: in a cold start, a Secret whose responder has a
// full backlog steps aside before its chain is parsed, not after. Before, each
// such Secret was parsed, turned away (HostBusy), and parsed again when woken:
// a cold start of 10,000 Secrets parsed each leaf about 2.6 times. Counted here
// on the controller's real chain cache (a spy that only counts), with a
// backlog of 2 so that most of the fleet is turned away at first.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Controller } from "../../src/controller/controller.ts";
import { ChainCache } from "../../src/ocsp/chain-cache.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { startController } from "../support/in-process-controller.ts";
import { OcspRig } from "../support/ocsp-rig.ts";

const NS = "default";
const LABELS = { staple: "yes" };
const FLEET = 40;

void describe("a Secret turned away by a full responder backlog is not parsed for it", { timeout: 10 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let controller: Controller | undefined;
  // The original method, put back after the test and called with its own `this` meanwhile.
  // eslint-disable-next-line @typescript-eslint/unbound-method
  const read = ChainCache.prototype.read;
  let reads = 0;

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("backpressure");
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    const names = Array.from({ length: FLEET }, (_, i) => `fleet-${String(i)}`);
    const leaves = await rig.goodLeaves(names);
    for (const [index, name] of names.entries()) await env.createTls(name, leaves[index] ?? assert.fail("issued"), rig.ca, LABELS);
    ChainCache.prototype.read = function countedRead(this: ChainCache, ...args: Parameters<ChainCache["read"]>) {
      reads++;
      return read.apply(this, args);
    };
  });
  after(async () => {
    ChainCache.prototype.read = read;
    await controller?.stop();
    await rig.stop();
    await env.stop();
  });

  void it(`staples ${String(FLEET)} Secrets through a backlog of 2, reading each chain about once`, async () => {
    controller = await startController(env, rig.transport, { fetchLimits: { concurrencyPerHost: 1, ratePerHostPerSecond: 1_000, backlogPerHost: 2 } });
    await eventually(`${String(FLEET)} companions`, async () => ((await env.companions()).length >= FLEET ? true : undefined), 120);
    await controller.whenIdle();
    // One read per Secret, plus a few for reconciles that saw room and lost it to another before fetching.
    assert.ok(reads <= FLEET * 1.25, `${String(reads)} chain reads for ${String(FLEET)} Secrets`);
    assert.equal(rig.responder.requests.length, FLEET, "one OCSP request per certificate");
  });
});
