// API server pressure: for a few seconds every Secret write is answered 429 with
// Retry-After (what API Priority and Fairness does to a client over its share),
// through a proxy in front of the real kube-apiserver. The operator (a real
// process) holds all of its requests for as long as it was told, instead of
// each of 100 Secrets retrying on its own, and then converges: every Secret
// stapled once the pressure is gone.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ApiProxy } from "../support/api-proxy.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { inParallel } from "../support/heap.ts";
import { eventually, KubeEnv } from "../support/kube-env.ts";
import { OcspRig } from "../support/ocsp-rig.ts";

const NS = "default";
const LABELS = { staple: "yes" };
const N = 100;
const PRESSURE_MS = 4_000;
const RETRY_AFTER_S = 2;

void describe("the API server under pressure", { timeout: 10 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: OcspRig;
  let proxy: ApiProxy;
  let controller: ControllerProcess | undefined;

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await OcspRig.start("pressure");
    proxy = await ApiProxy.start(env.plane);
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS } });
    const leaves = await rig.goodLeaves(Array.from({ length: N }, (_, i) => `site-${String(i)}`));
    await inParallel(leaves, 16, (leaf, i) => env.createTls(`site-${String(i)}`, leaf, rig.ca, LABELS));
  });
  after(async () => {
    controller?.kill();
    await proxy.stop();
    await rig.stop();
    await env.stop();
  });

  void it("429 with Retry-After on every Secret write for a while: honoured by the whole process, no retry storm, then every Secret stapled", async () => {
    let pressureFrom: number | undefined;
    const isSecretWrite = (request: { method: string; url: string }) => request.method !== "GET" && request.url.includes("/secrets/");
    proxy.verdict = (request) => {
      if (!isSecretWrite(request)) return { kind: "forward" };
      pressureFrom ??= request.at;
      return request.at < pressureFrom + PRESSURE_MS
        ? { kind: "answer", status: 429, headers: { "retry-after": String(RETRY_AFTER_S) }, body: { kind: "Status", apiVersion: "v1", status: "Failure", reason: "TooManyRequests", message: "too many requests, please try again later", code: 429 } }
        : { kind: "forward" };
    };
    controller = await ControllerProcess.start(await proxy.writeKubeconfig(env.plane.dir), ["--namespace", NS, "--fetch-rate", "10000"], { LOG_LEVEL: "info" });
    const companions = async () => (await env.companions()).length;
    await eventually("every Secret stapled after the pressure", async () => ((await companions()) === N ? true : undefined), 120);
    const refused = proxy.seen.filter((request) => isSecretWrite(request) && pressureFrom !== undefined && request.at < pressureFrom + PRESSURE_MS);
    // Each Secret retrying on its own would send about one refused write per Secret; held together, a few per Retry-After.
    assert.ok(refused.length <= 30, `${String(refused.length)} writes sent while the server said to wait`);
    const told = controller.logs(/reconcile failed; retrying/);
    assert.ok(told.length > 0 && told.every((line) => line.retryAfterMs === RETRY_AFTER_S * 1000), "the Retry-After was read");
    // Each refused Secret retries on its own backoff (1 s, doubling), never sooner than the Retry-After.
    assert.ok(told.every((line) => Number(line.delayMs) >= RETRY_AFTER_S * 1000 && Number(line.failures) >= 1), "the Retry-After is a floor for the backoff");
    assert.match(String(told[0]?.err), /^HTTP 429: too many requests/);
  });
});
