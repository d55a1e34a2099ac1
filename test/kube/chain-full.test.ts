// chain: Full on a real kube-apiserver, with a three-level PKI answered by real `openssl ocsp`
// responders (test/support/chain-rig.ts): every companion holds the leaf's staple, the
// intermediate's under `<key>.1`, and the bundle `<key>.pem`, all verifying as a chain; 100
// Secrets under one intermediate cause ONE request for it; a companion the chain keeper rewrites
// keeps the annotations the leaf's write gave it; in InPlace mode the same keys go into
// the TLS Secret and leave it by a guarded JSON patch; an intermediate whose responder is
// down is reported on its own while the leaf stays stapled. The companion, projected into a
// directory as the kubelet does, is served by a real Exim (GnuTLS) to gnutls-cli: both staples
// under TLS 1.3, the leaf's under TLS 1.2. nginx and HAProxy, each with the reloader beside it,
// mount the same Full companion and serve the leaf's staple as with chain: Leaf.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PatchStrategy, setHeaderOptions, type V1Secret } from "@kubernetes/client-node";
import type { Controller } from "../../src/controller/controller.ts";
import { readChain } from "../../src/ocsp/chain.ts";
import { readCertificates } from "../../src/ocsp/pem.ts";
import { verifyChainStaples } from "../../src/ocsp/chain-verify.ts";
import { readResponseBundle } from "../../src/ocsp/response-bundle.ts";
import { ChainRig, type RigChain } from "../support/chain-rig.ts";
import { pemBundleIfExists, startExim } from "../support/exim.ts";
import { gnutlsCliStarttls } from "../support/gnutls-client.ts";
import { startHaproxy, type RunningHaproxy } from "../support/haproxy.ts";
import { startController } from "../support/in-process-controller.ts";
import { conditionOf, eventually, KubeEnv } from "../support/kube-env.ts";
import { KubeletVolume, type VolumeFiles } from "../support/kubelet-volume.ts";
import { LoopbackOnlyTransport } from "../support/loopback-transport.ts";
import { prepareIncludingNginx, type PreparedNginx } from "../support/nginx-include.ts";
import { sClientStatus } from "../support/openssl-client.ts";
import { goodEntry, type Issued } from "../support/pki.ts";
import { EXIM, GNUTLS_CLI, HAPROXY, NGINX, skipUnlessInstalled } from "../support/programs.ts";
import { servedStaple, startReloaderProcess, type ReloaderProcess } from "../support/reloader-process.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";

const NS = "chain-full";
const FLEET = 100;

// Outside CI a missing program skips the test that needs it (with the reason); in CI it fails it.
const skipUnlessGnutls = skipUnlessInstalled(EXIM, GNUTLS_CLI);
const skipUnlessServers = skipUnlessInstalled(NGINX, HAPROXY);

/**
 * A pod's volume projecting the TLS Secret's tls.crt and tls.key and the WHOLE companion (the
 * leaf's staple, the intermediates' and the bundle), each key under its own name unless
 * `rename` gives another (as `items[].path` does): the files the kubelet lays out for the pod.
 */
function projectFull(tls: V1Secret, companion: V1Secret, rename: Readonly<Record<string, string>> = {}): VolumeFiles {
  const files: Record<string, Uint8Array> = {};
  const tlsData = { "tls.crt": tls.data?.["tls.crt"] ?? "", "tls.key": tls.data?.["tls.key"] ?? "" };
  for (const [key, value] of Object.entries({ ...tlsData, ...companion.data })) files[rename[key] ?? key] = new Uint8Array(Buffer.from(value, "base64"));
  return files;
}

interface ChainEntry { subject: string; serial: string; certStatus?: string; nextUpdate?: string; error?: { code: string; message: string } }
interface FullEntry { name: string; staple?: string; certStatus?: string; chain?: ChainEntry[]; chainError?: { code: string; message: string } }

void describe("chain: Full on a real API server", { timeout: 10 * 60_000 }, () => {
  let env: KubeEnv;
  let rig: ChainRig;
  let transport: LoopbackOnlyTransport;
  let controller: Controller;

  /** A TLS Secret serving leaf + intermediate, with the root in ca.crt (the intermediate's issuer). */
  const createTls = async (name: string, leaf: Issued, chain: RigChain, labels: Record<string, string>) => {
    const body: V1Secret = {
      metadata: { name, namespace: NS, labels },
      type: "kubernetes.io/tls",
      data: {
        "tls.crt": Buffer.from(leaf.certPem + chain.intermediate.certPem).toString("base64"),
        "tls.key": Buffer.from(leaf.keyPem).toString("base64"),
        "ca.crt": Buffer.from(rig.root.certPem).toString("base64"),
      },
    };
    await env.core.createNamespacedSecret({ namespace: NS, body });
  };
  const fullEntry = (config: string, name: string, ready: (entry: FullEntry) => boolean) =>
    eventually(`${name}'s chain in ${config}'s status`, async () => {
      const secrets = ((await env.statusOf(config)) as { secrets?: FullEntry[] } | undefined)?.secrets;
      return secrets?.find((entry) => entry.name === name && ready(entry));
    }, 60);
  const der = (secret: V1Secret, key: string) => new Uint8Array(Buffer.from(secret.data?.[key] ?? "", "base64"));

  before(async () => {
    env = await KubeEnv.start(NS);
    rig = await ChainRig.start("chain-full");
    transport = new LoopbackOnlyTransport();
    controller = await startController(env, transport);
  });
  after(async () => {
    await controller.stop();
    await transport.close();
    await rig.stop();
    await env.stop();
  });

  void it(`${FLEET} Secrets under one intermediate: every companion holds tls.ocsp, tls.ocsp.1 and the bundle, each verifies; ONE request for the intermediate`, async () => {
    const chain = await rig.chain("fleet");
    const leaves = [chain.leaf];
    while (leaves.length < FLEET) leaves.push(await chain.intermediate.issue({ commonName: `fleet-${leaves.length}.example`, ocspUrl: chain.leafResponder.url }));
    await chain.leafResponder.updateIndex(leaves.map((leaf) => goodEntry(leaf)));
    await env.applyConfig("fleet", { secretSelector: { matchLabels: { fleet: "true" } }, chain: "Full" });
    await Promise.all(leaves.map((leaf, index) => createTls(`fleet-${index}`, leaf, chain, { fleet: "true" })));

    for (const [index, leaf] of leaves.entries()) {
      const companion = await eventually(`fleet-${index}'s full companion`, async () => {
        const secret = await env.readSecret(`fleet-${index}-ocsp`);
        return secret?.data?.["tls.ocsp.pem"] !== undefined && secret.data["tls.ocsp.1"] !== undefined ? secret : undefined;
      }, 60);
      const served = readChain(leaf.certPem + chain.intermediate.certPem, rig.root.certPem);
      const keys = await verifyChainStaples([der(companion, "tls.ocsp"), der(companion, "tls.ocsp.1")], { chain: served, at: new Date() });
      assert.deepEqual(keys.map((result) => (result.ok ? result.staple.response.certStatus.kind : result.error.code)), ["good", "good"]);
      const bundle = readResponseBundle(Buffer.from(companion.data?.["tls.ocsp.pem"] ?? "", "base64").toString("latin1"), "tls.ocsp.pem");
      assert.deepEqual(bundle.map((response) => Buffer.from(response).toString("base64")), [companion.data?.["tls.ocsp"], companion.data?.["tls.ocsp.1"]]);
      assert.equal(companion.metadata?.annotations?.["ocsp-stapler.io/serial"], leaf.serialHex, "the leaf's annotations are unchanged");
    }
    const entry = await fullEntry("fleet", "fleet-0", (candidate) => candidate.chain?.[0]?.certStatus === "Good");
    const [intermediate, ...more] = entry.chain ?? [];
    assert.deepEqual(more, []);
    assert.equal(intermediate?.serial, chain.intermediate.serialHex);
    assert.match(intermediate.subject, /fleet-int/);
    assert.equal(rig.rootResponder.requests.length, 1, "the intermediate's responder saw one request for the whole fleet");
    assert.equal(chain.leafResponder.requests.length, FLEET);
    assert.equal(conditionOf(await env.statusOf("fleet"), "Degraded")?.status, "False");
  });

  void it("a companion rewritten by the chain keeper (after a restart) keeps the annotations the leaf's write gave it, the responder's included: the two writers never undo each other", async () => {
    await controller.whenIdle();
    const annotations = async () => new Map((await env.core.listNamespacedSecret({ namespace: NS, labelSelector: "app.kubernetes.io/managed-by=ocsp-stapler" })).items.map((secret) => [secret.metadata?.name, secret.metadata?.annotations]));
    const written = await annotations();
    assert.equal(written.size, FLEET);
    for (const name of ["ocsp-stapler.io/usable-until", "ocsp-stapler.io/cert-ids"]) assert.ok(written.get("fleet-0-ocsp")?.[name] !== undefined, name);
    await controller.stop();
    // A new process fetches the intermediate's staple again and the chain keeper rewrites each
    // companion around the leaf's staple in place: the leaf's plan writes nothing.
    controller = await startController(env, transport);
    // The positive signal that every Secret was reconciled, its chain keeper's part included.
    await controller.whenIdle();
    assert.equal([...written.keys()].filter((name) => !controller.secretStates.has(`${NS}/${String(name).replace(/-ocsp$/, "")}`)).length, 0, "every stapled Secret was looked at");
    assert.deepEqual(await annotations(), written);
  });

  void it("the operator's bundle reaches a GnuTLS client: Exim serves the projected companion, gnutls-cli gets both staples under TLS 1.3 (the leaf's under 1.2), byte for byte the companion's", { skip: skipUnlessGnutls }, async () => {
    const chain = await rig.chain("exim");
    await env.applyConfig("exim", { secretSelector: { matchLabels: { exim: "true" } }, chain: "Full" });
    await createTls("exim-tls", chain.leaf, chain, { exim: "true" });
    const companion = await eventually("exim-tls's full companion", async () => {
      const secret = await env.readSecret("exim-tls-ocsp");
      return secret?.data?.["tls.ocsp.pem"] !== undefined && secret.data["tls.ocsp.1"] !== undefined ? secret : undefined;
    }, 60);
    const tls = await env.readSecret("exim-tls");
    assert.ok(tls);
    const dir = await makeTempDir("chain-full-exim");
    try {
      const volume = await KubeletVolume.create(join(dir, "tls"), projectFull(tls, companion));
      // Guarded by ${if exists}, as README's Exim section says: the operator withdraws the bundle while an element is revoked.
      const exim = await startExim({ certPath: volume.path("tls.crt"), keyPath: volume.path("tls.key"), ocspFile: pemBundleIfExists(volume.path("tls.ocsp.pem")) });
      try {
        const [leafStaple, intermediateStaple] = [der(companion, "tls.ocsp"), der(companion, "tls.ocsp.1")];
        const tls13 = await gnutlsCliStarttls(exim.port, { tls: "1.3", caPath: rig.root.certPath });
        assert.equal(tls13.code, 0, tls13.output + (await exim.log()));
        assert.equal(tls13.status, "The certificate is trusted.", "GnuTLS trusts the chain and verified each staple");
        assert.match(tls13.output, /\(TLS1\.3-X\.509\)/);
        assert.equal(tls13.responses.length, 2, tls13.output);
        assert.ok(tls13.responses[0]?.equals(leafStaple) === true, "the leaf's staple is the companion's tls.ocsp");
        assert.ok(tls13.responses[1]?.equals(intermediateStaple) === true, "the intermediate's staple is the companion's tls.ocsp.1");

        const tls12 = await gnutlsCliStarttls(exim.port, { tls: "1.2", caPath: rig.root.certPath });
        assert.equal(tls12.code, 0, tls12.output + (await exim.log()));
        assert.equal(tls12.status, "The certificate is trusted.");
        assert.match(tls12.output, /\(TLS1\.2-X\.509\)/);
        assert.equal(tls12.responses.length, 1, "TLS 1.2 carries one staple: the leaf's");
        assert.ok(tls12.responses[0]?.equals(leafStaple) === true);
      } finally {
        await exim.stop();
      }
    } finally {
      await removeTempDir(dir);
    }
  });

  void it("nginx and HAProxy with a Full companion mounted whole, through the reloader: both serve the leaf's staple, byte for byte tls.ocsp; the extra keys change nothing", { skip: skipUnlessServers }, async () => {
    const chain = await rig.chain("web");
    await env.applyConfig("web", { secretSelector: { matchLabels: { web: "true" } }, chain: "Full" });
    await createTls("web-tls", chain.leaf, chain, { web: "true" });
    const companion = await eventually("web-tls's full companion", async () => {
      const secret = await env.readSecret("web-tls-ocsp");
      return secret?.data?.["tls.ocsp.pem"] !== undefined && secret.data["tls.ocsp.1"] !== undefined ? secret : undefined;
    }, 60);
    const tls = await env.readSecret("web-tls");
    assert.ok(tls);
    const dir = await makeTempDir("chain-full-servers");
    const reloaders: ReloaderProcess[] = [];
    let preparedNginx: PreparedNginx | undefined;
    let haproxy: RunningHaproxy | undefined;
    try {
      // nginx's volume: every key under its own name. HAProxy's: the key and the leaf's staple
      // renamed to sit beside tls.crt (tls.crt.key, tls.crt.ocsp), the other companion keys as they are.
      const nginxVolume = await KubeletVolume.create(join(dir, "nginx-tls"), projectFull(tls, companion));
      const haproxyVolume = await KubeletVolume.create(join(dir, "haproxy-tls"), projectFull(tls, companion, { "tls.key": "tls.crt.key", "tls.ocsp": "tls.crt.ocsp" }));
      assert.deepEqual(await nginxVolume.entries(), ["..data", await nginxVolume.dataTarget(), "tls.crt", "tls.key", "tls.ocsp", "tls.ocsp.1", "tls.ocsp.pem"].sort());
      // Each reloader is ready before its server starts, as a native sidecar with a startup probe;
      // --staple names the leaf's key, as its --help says for chain: Full.
      const stapleDir = join(dir, "nginx-staples");
      preparedNginx = await prepareIncludingNginx({ certPath: nginxVolume.path("tls.crt"), keyPath: nginxVolume.path("tls.key"), stapleDir });
      reloaders.push(await startReloaderProcess(["--server", "nginx", "--cert", nginxVolume.dir, "--staple", nginxVolume.path("tls.ocsp"), "--nginx-staple-dir", stapleDir, "--nginx-pid-file", preparedNginx.pidFile, "--nginx-test-command", preparedNginx.testCommand]));
      haproxy = await startHaproxy({ crtPath: haproxyVolume.path("tls.crt") });
      reloaders.push(await startReloaderProcess(["--server", "haproxy", "--cert", haproxyVolume.path("tls.crt"), "--staple", haproxyVolume.path("tls.crt.ocsp"), "--haproxy-socket", haproxy.socketPath]));
      const nginx = await preparedNginx.start();

      const leafStaple = der(companion, "tls.ocsp");
      for (const [server, port] of [["nginx", nginx.port], ["HAProxy", haproxy.port]] as const) {
        const output = await sClientStatus(port, ["-CAfile", rig.root.certPath]);
        assert.match(output, /Verify return code: 0 \(ok\)/, `${server}: ${output}`);
        assert.match(output, /OCSP Response Status: successful \(0x0\)/, `${server}: ${output}`);
        assert.match(output, /Cert Status: good/, server);
        assert.match(output, new RegExp(`Serial Number: 0*${chain.leaf.serialHex}\\b`, "i"), `${server} staples the leaf's response`);
        assert.equal(output.match(/OCSP Response Status/g)?.length, 1, `${server}: one staple`);
        const served = await servedStaple(port);
        assert.ok(served !== undefined && Buffer.from(served).equals(leafStaple), `${server} serves the companion's tls.ocsp, byte for byte`);
      }
      for (const reloader of reloaders) {
        assert.deepEqual(reloader.logs.lines.filter((line) => line.level === 40 || line.level === 50), [], "no warning or error from the reloader");
      }
    } finally {
      for (const reloader of reloaders) await reloader.stop();
      await haproxy?.stop();
      await preparedNginx?.cleanup();
      await removeTempDir(dir);
    }
  });

  void it("a chain refused as a whole (the intermediate twice): the leaf stays stapled, the chain's keys go, the entry's chainError and Degraded say why", async () => {
    const chain = await rig.chain("twice");
    await env.applyConfig("twice", { secretSelector: { matchLabels: { twice: "true" } }, chain: "Full" });
    await createTls("twice-tls", chain.leaf, chain, { twice: "true" });
    await fullEntry("twice", "twice-tls", (candidate) => candidate.chain?.[0]?.certStatus === "Good");
    const before = await eventually("the Full companion", async () => { const s = await env.readSecret("twice-tls-ocsp"); return s?.data?.["tls.ocsp.pem"] === undefined ? undefined : s; });
    const doubled = Buffer.from(chain.leaf.certPem + chain.intermediate.certPem + chain.intermediate.certPem).toString("base64");
    await env.core.patchNamespacedSecret({ namespace: NS, name: "twice-tls", body: { data: { "tls.crt": doubled } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    const entry = await fullEntry("twice", "twice-tls", (candidate) => candidate.chainError !== undefined);
    assert.deepEqual([entry.chainError?.code, /twice/.test(entry.chainError?.message ?? "")], ["BadCertificate", true]);
    assert.equal(entry.chain, undefined);
    const after = await eventually("the chain's keys removed", async () => { const s = await env.readSecret("twice-tls-ocsp"); return s?.data?.["tls.ocsp.1"] === undefined && s?.data?.["tls.ocsp.pem"] === undefined ? s : undefined; });
    assert.equal(after.data?.["tls.ocsp"], before.data?.["tls.ocsp"], "the leaf's staple stays as it was");
    const degraded = await eventually("Degraded naming the refused chain", async () => {
      const condition = conditionOf(await env.statusOf("twice"), "Degraded") as { status: string; reason: string; message?: string } | undefined;
      return condition?.status === "True" ? condition : undefined;
    });
    assert.equal(degraded.reason, "BadCertificate");
    assert.match(degraded.message ?? "", /twice-tls was refused/);
  });

  void it("an intermediate whose responder is down: the leaf stays stapled, the element is reported and Degraded names it", async () => {
    const chain = await rig.chain("down", "responder-down");
    // Retried every second: the intermediate's retries must not drag the leaf's requests along.
    await env.applyConfig("down", { secretSelector: { matchLabels: { down: "true" } }, chain: "Full", refresh: { retry: { initial: "1s", max: "1s" } } });
    await createTls("down-tls", chain.leaf, chain, { down: "true" });
    const entry = await fullEntry("down", "down-tls", (candidate) => candidate.chain?.[0]?.error !== undefined && candidate.staple !== undefined);
    assert.equal(entry.certStatus, "Good");
    assert.equal(entry.chain?.[0]?.error?.code, "ResponderUnreachable");
    const companion = await eventually("the leaf's companion", () => env.readSecret("down-tls-ocsp"));
    assert.ok(companion.data?.["tls.ocsp"]);
    assert.equal(companion.data["tls.ocsp.1"], undefined);
    const bundle = readResponseBundle(Buffer.from(companion.data["tls.ocsp.pem"] ?? "", "base64").toString("latin1"), "tls.ocsp.pem");
    assert.deepEqual(bundle.map((response) => Buffer.from(response).toString("base64")), [companion.data["tls.ocsp"]], "the bundle holds the leaf alone");
    const degraded = await eventually("Degraded naming the intermediate", async () => {
      const condition = (await env.statusOf("down"))?.conditions?.find((candidate) => candidate.type === "Degraded");
      return condition?.status === "True" ? condition : undefined;
    });
    assert.equal(degraded.reason, "ResponderUnreachable");
    assert.match((degraded as { message?: string }).message ?? "", /down-int/);
    assert.equal(conditionOf(await env.statusOf("down"), "Ready")?.status, "True", "the leaf is stapled: Ready");
    const [intermediate] = readCertificates(chain.intermediate.certPem, "intermediate");
    const downUrl = new URL(intermediate?.ocspUrls[0] ?? "");
    await eventually("three tries of the intermediate's responder", () => Promise.resolve(transport.sent.filter((request) => request.url.host === downUrl.host).length >= 3 ? true : undefined));
    assert.equal(chain.leafResponder.requests.length, 1, "the leaf's responder saw one request while the intermediate's was tried again and again");
  });

  void it("a config back on chain: Leaf: the intermediates' keys and the bundle go, the leaf's staple stays as it was", async () => {
    const chain = await rig.chain("back");
    await env.applyConfig("back", { secretSelector: { matchLabels: { back: "true" } }, chain: "Full" });
    await createTls("back-tls", chain.leaf, chain, { back: "true" });
    const full = await eventually("the full companion", async () => { const s = await env.readSecret("back-tls-ocsp"); return s?.data?.["tls.ocsp.1"] === undefined ? undefined : s; }, 60);
    await env.applyConfig("back", { secretSelector: { matchLabels: { back: "true" } }, chain: "Leaf" });
    const leafOnly = await eventually("the companion without the chain's keys", async () => { const s = await env.readSecret("back-tls-ocsp"); return s?.data?.["tls.ocsp.pem"] === undefined ? s : undefined; });
    assert.deepEqual(Object.keys(leafOnly.data ?? {}), ["tls.ocsp"]);
    assert.equal(leafOnly.data?.["tls.ocsp"], full.data?.["tls.ocsp"]);
    assert.deepEqual(leafOnly.metadata?.annotations, full.metadata?.annotations);
  });

  void it("chain: Full with target.mode InPlace: the chain's keys in the TLS Secret, listed as ours; back on Leaf they go, deselected all ours go, tls.crt and tls.key untouched", async () => {
    const chain = await rig.chain("inplace");
    const target = { mode: "InPlace", keys: ["tls.ocsp-staple"] };
    await env.applyConfig("inplace", { secretSelector: { matchLabels: { inplace: "true" } }, chain: "Full", target });
    await createTls("inplace-tls", chain.leaf, chain, { inplace: "true" });
    const full = await eventually("the chain's keys in the TLS Secret", async () => { const s = await env.readSecret("inplace-tls"); return s?.data?.["tls.ocsp-staple.pem"] === undefined ? undefined : s; }, 60);
    assert.deepEqual(full.metadata?.annotations?.["ocsp-stapler.io/staple-keys"], "tls.ocsp-staple,tls.ocsp-staple.1,tls.ocsp-staple.pem");
    const served = readChain(chain.leaf.certPem + chain.intermediate.certPem, rig.root.certPem);
    const verified = await verifyChainStaples([der(full, "tls.ocsp-staple"), der(full, "tls.ocsp-staple.1")], { chain: served, at: new Date() });
    assert.deepEqual(verified.map((result) => result.ok), [true, true]);
    assert.equal(readResponseBundle(Buffer.from(full.data?.["tls.ocsp-staple.pem"] ?? "", "base64").toString("latin1"), "tls.ocsp-staple.pem").length, 2);

    // A plain update by another client (cert-manager's way), here resetting the managed fields: our apply owns none of our keys
    // any more, so one that stops sending them would leave them; the guarded JSON patch must take them out.
    const current = (await env.readSecret("inplace-tls")) ?? full;
    await env.core.replaceNamespacedSecret({ name: "inplace-tls", namespace: NS, body: {
      type: "kubernetes.io/tls", data: current.data ?? {},
      metadata: { name: "inplace-tls", namespace: NS, resourceVersion: current.metadata?.resourceVersion ?? "", labels: { inplace: "true", renewed: "yes" }, annotations: current.metadata?.annotations ?? {}, managedFields: [] },
    } });

    await env.applyConfig("inplace", { secretSelector: { matchLabels: { inplace: "true" } }, chain: "Leaf", target });
    const leafOnly = await eventually("the TLS Secret without the chain's keys", async () => { const s = await env.readSecret("inplace-tls"); return s?.data?.["tls.ocsp-staple.1"] === undefined && s?.data?.["tls.ocsp-staple.pem"] === undefined ? s : undefined; });
    assert.deepEqual(Object.keys(leafOnly.data ?? {}).sort(), ["ca.crt", "tls.crt", "tls.key", "tls.ocsp-staple"]);
    assert.equal(leafOnly.data?.["tls.ocsp-staple"], full.data?.["tls.ocsp-staple"], "the leaf's staple stays as it was");
    for (const key of ["tls.crt", "tls.key", "ca.crt"]) assert.equal(leafOnly.data?.[key], full.data?.[key], key);
    const listed = await eventually("staple-keys back to the leaf's", async () => { const s = await env.readSecret("inplace-tls"); const v = s?.metadata?.annotations?.["ocsp-stapler.io/staple-keys"]; return v === "tls.ocsp-staple" ? v : undefined; });
    assert.equal(listed, "tls.ocsp-staple");

    // Full again, then deselected: every key we listed goes, the bundle too; the certificate stays.
    await env.applyConfig("inplace", { secretSelector: { matchLabels: { inplace: "true" } }, chain: "Full", target });
    await eventually("the chain's keys back", async () => ((await env.readSecret("inplace-tls"))?.data?.["tls.ocsp-staple.pem"] === undefined ? undefined : true), 60);
    await env.kubectl(["label", "secret", "inplace-tls", "-n", NS, "inplace-"]);
    const deselected = await eventually("the TLS Secret without our keys", async () => { const s = await env.readSecret("inplace-tls"); return s?.metadata?.annotations?.["ocsp-stapler.io/staple-keys"] === undefined ? s : undefined; });
    assert.deepEqual(Object.keys(deselected.data ?? {}).sort(), ["ca.crt", "tls.crt", "tls.key"]);
    for (const key of ["tls.crt", "tls.key", "ca.crt"]) assert.equal(deselected.data?.[key], full.data?.[key], key);
  });

  void it("a revoked intermediate: stapled as revoked, no bundle, a Revoked Event naming it, Degraded naming it", async () => {
    const chain = await rig.chain("bad", "revoked");
    await env.applyConfig("bad", { secretSelector: { matchLabels: { bad: "true" } }, chain: "Full" });
    await createTls("bad-tls", chain.leaf, chain, { bad: "true" });
    const entry = await fullEntry("bad", "bad-tls", (candidate) => candidate.chain?.[0]?.certStatus === "Revoked");
    assert.equal(entry.certStatus, "Good");
    const companion = await eventually("the revoked intermediate's staple", async () => { const s = await env.readSecret("bad-tls-ocsp"); return s?.data?.["tls.ocsp.1"] === undefined ? undefined : s; });
    const served = readChain(chain.leaf.certPem + chain.intermediate.certPem, rig.root.certPem);
    const [, intermediate] = await verifyChainStaples([der(companion, "tls.ocsp"), der(companion, "tls.ocsp.1")], { chain: served, at: new Date() });
    assert.equal(intermediate?.ok === true ? intermediate.staple.response.certStatus.kind : "failed", "revoked");
    assert.equal(companion.data?.["tls.ocsp.pem"], undefined, "no bundle: GnuTLS would refuse it, and Exim every STARTTLS");
    await eventually("the Revoked Event", async () => ((await env.eventReasons("StapleConfig", "bad")).includes("Revoked") ? true : undefined));
    const degraded = conditionOf(await env.statusOf("bad"), "Degraded") as { status: string; reason: string; message?: string } | undefined;
    assert.equal(degraded?.status, "True");
    assert.equal(degraded.reason, "Revoked");
    assert.match(degraded.message ?? "", /bad-int/);
  });
});
