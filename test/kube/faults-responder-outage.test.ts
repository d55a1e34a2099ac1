// The CA's responder down past its staples' end, in real time: responses valid
// for 2 minutes (openssl ocsp -nmin 2), refreshed at half. With the responder
// stopped, each staple stays while usable, is withdrawn just before its end,
// and no companion, sampled continuously, ever holds an expired staple; the
// status and Events say so; once the responder is back, staples return within
// one retry. Real API server, real responder, the controller on the real clock.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Controller } from "../../src/controller/controller.ts";
import { ANNOTATION } from "../../src/kube/metadata-keys.ts";
import { freePort } from "../support/free-port.ts";
import { conditionOf, eventually, KubeEnv } from "../support/kube-env.ts";
import { startController } from "../support/in-process-controller.ts";
import { LoopbackOnlyTransport } from "../support/loopback-transport.ts";
import { startOpensslResponder, type OpensslResponder } from "../support/openssl-responder.ts";
import { createRootCa, goodEntry, type Issued, type TestCa } from "../support/pki.ts";
import { waitFor } from "../support/wait-for.ts";

const NS = "default";
const LABELS = { staple: "yes" };
const N = 5;
const RETRY_MAX_S = 10;

void describe("the responder down past its staples' end, in real time", { timeout: 15 * 60_000 }, () => {
  let env: KubeEnv;
  let ca: TestCa;
  let leaves: Issued[];
  let port: number;
  let responder: OpensslResponder;
  const transport = new LoopbackOnlyTransport();
  let controller: Controller;
  const startResponder = async () => startOpensslResponder({ ca, indexPath: await ca.writeIndex(leaves.map(goodEntry)), port, nmin: 2 });
  const companions = () => env.companions();

  before(async () => {
    env = await KubeEnv.start(NS);
    ca = await createRootCa({ name: "outage", key: "p256" });
    port = await freePort();
    leaves = await Promise.all(Array.from({ length: N }, (_, i) => ca.issue({ commonName: `site-${String(i)}.example`, ocspUrl: `http://127.0.0.1:${String(port)}/` })));
    responder = await startResponder();
    // consumer Nginx: HAProxy (which Auto adds for tls.ocsp) refuses a staple valid for under 5 minutes.
    await env.applyConfig("web", { secretSelector: { matchLabels: LABELS }, target: { consumer: "Nginx" }, refresh: { fraction: 0.5, minInterval: "1m", retry: { initial: "5s", max: `${String(RETRY_MAX_S)}s` } } });
    for (const [i, leaf] of leaves.entries()) await env.createTls(`site-${String(i)}`, leaf, ca, LABELS);
    controller = await startController(env, transport);
    await eventually("every Secret stapled", async () => ((await companions()).length === N ? true : undefined), 60);
  });
  after(async () => {
    await controller.stop();
    await responder.stop();
    await transport.close();
    await ca.cleanup();
    await env.stop();
  });

  void it("kept while usable, withdrawn just before the end, never expired when sampled, and back within one retry of recovery", async () => {
    await responder.stop();
    const expiredSeen: string[] = [];
    const lastSeen = new Map<string, { at: number; nextUpdate: number }>();
    let degradedSeen = false;
    // Sample until every staple has been withdrawn (about 2 minutes): the positive signal that ends the loop.
    // "Now" is read after each LIST answers, so a companion counts as present at least until then.
    await waitFor(async () => {
      const present = await companions();
      const now = Date.now();
      for (const secret of present) {
        const name = secret.metadata?.name ?? "";
        const nextUpdate = Date.parse(secret.metadata?.annotations?.[ANNOTATION.nextUpdate] ?? "");
        if (!(nextUpdate > now)) expiredSeen.push(`${name}: nextUpdate ${new Date(nextUpdate).toISOString()} at ${new Date(now).toISOString()}`);
        lastSeen.set(name, { at: now, nextUpdate });
      }
      if (!degradedSeen && present.length === N) degradedSeen = conditionOf(await env.statusOf("web"), "Degraded")?.reason === "ResponderUnreachable";
      return present.length === 0 ? true : undefined;
    }, "every staple withdrawn", 4 * 60_000);
    assert.deepEqual(expiredSeen, [], "no expired staple was ever in place");
    assert.equal(lastSeen.size, N);
    // Kept while usable: each was still in place within a few seconds of its end (the lead is 2.4 s of a 2-minute window).
    for (const [name, seen] of lastSeen) assert.ok(seen.nextUpdate - seen.at < 5_000, `${name} stayed until ${String(seen.nextUpdate - seen.at)} ms before its end`);
    assert.ok(degradedSeen, "Degraded (ResponderUnreachable) while the staples were kept");
    const withdrawn = await env.entry("web", "site-0", (candidate) => candidate.error?.code === "StapleExpired");
    assert.equal(withdrawn.staple, undefined);
    assert.ok((await env.eventReasons("Secret", "site-0")).includes("StapleWithdrawn"));
    assert.equal(conditionOf(await env.statusOf("web"), "Ready")?.status, "False");

    responder = await startResponder();
    const recovered = Date.now();
    await eventually("every staple back", async () => ((await companions()).length === N ? true : undefined), 60);
    assert.ok(Date.now() - recovered <= (RETRY_MAX_S + 3) * 1000, `back ${String(Date.now() - recovered)} ms after recovery: within one retry (at most ${String(RETRY_MAX_S)} s)`);
    await eventually("Ready again", async () => (conditionOf(await env.statusOf("web"), "Ready")?.status === "True" ? true : undefined));
  });
});
