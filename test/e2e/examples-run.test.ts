// The nginx and HAProxy examples in manifests/examples, run as their pods would run
// them, without a kubelet: their own configuration (from the ConfigMap) and the
// reloader's own arguments (from the Deployment), with the pod's paths moved into a
// temporary directory and the TLS volume laid out as the kubelet does. The first
// handshake is stapled, and a new staple in the volume reaches clients.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadAllYaml, type V1ConfigMap, type V1Deployment } from "@kubernetes/client-node";
import { freePort } from "../support/free-port.ts";
import { haproxyBinary } from "../support/haproxy.ts";
import { KubeletVolume } from "../support/kubelet-volume.ts";
import { nginxBinary } from "../support/nginx.ts";
import { NGINX, HAPROXY, skipUnlessInstalled } from "../support/programs.ts";
import { ReloaderFixture } from "../support/reloader-fixture.ts";
import { servedThisUpdate, startReloaderProcess, type ReloaderProcess } from "../support/reloader-process.ts";
import { stopProcess, waitListening } from "../support/server-process.ts";
import { makeTempDir, removeTempDir } from "../support/tmp.ts";
import { waitFor } from "../support/wait-for.ts";

const skip = skipUnlessInstalled(NGINX, HAPROXY);

/** An example's ConfigMap file and the reloader container's arguments. */
async function example(file: string, configKey: string): Promise<{ config: string; reloaderArgs: string[] }> {
  const objects = loadAllYaml(await readFile(new URL(`../../manifests/examples/${file}`, import.meta.url), "utf8")) as ({ kind?: string } & (V1ConfigMap | V1Deployment))[];
  const configMap = objects.find((object): object is V1ConfigMap => object.kind === "ConfigMap");
  const deployment = objects.find((object): object is V1Deployment => object.kind === "Deployment");
  const pod = deployment?.spec?.template.spec;
  const reloader = [...(pod?.initContainers ?? []), ...(pod?.containers ?? [])].find((container) => container.name === "ocsp-reloader");
  const config = configMap?.data?.[configKey];
  assert.ok(config !== undefined && reloader?.args !== undefined, `${file} has ${configKey} and an ocsp-reloader container`);
  // The pod's command is `ocsp-stapler reloader …`; the test starts the reloader and picks the metrics port itself.
  return { config, reloaderArgs: reloader.args.filter((arg) => arg !== "reloader" && !arg.startsWith("--metrics-addr")) };
}

/** Moves the pod's absolute paths under `root`, and its listener onto loopback. */
function relocate(text: string, root: string, port: number): string {
  return text.replaceAll(/(?<=[\s=])\/(etc\/tls|run\/ocsp-stapler|run\/haproxy|tmp)\b/g, `${root}/$1`).replace(/(listen|bind) :?8443/, `$1 127.0.0.1:${port}`);
}

void describe("the nginx and HAProxy examples, run with their own configuration and arguments", { skip, timeout: 120_000 }, () => {
  let fixture: ReloaderFixture;
  let root: string;
  const stops: (() => Promise<void>)[] = [];

  before(async () => {
    fixture = await ReloaderFixture.create("examples");
    root = await makeTempDir("examples");
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await fixture.cleanup();
    await removeTempDir(root);
  });

  /** Starts a server program, waiting until it listens. */
  const startServer = async (binary: string, args: string[], port: number): Promise<ChildProcess> => {
    const child = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => { stderr += chunk.toString(); });
    stops.push(() => stopProcess(child));
    assert.ok(await waitListening(port, child), `${binary} did not start: ${stderr}`);
    return child;
  };
  const startReloader = async (args: string[]): Promise<ReloaderProcess> => {
    const reloader = await startReloaderProcess(args);
    stops.push(() => reloader.stop());
    return reloader;
  };

  void it("nginx.yaml: the native sidecar stages the staple before nginx starts; a new one follows by a graceful reload", async () => {
    const pod = join(root, "nginx");
    const { config, reloaderArgs } = await example("nginx.yaml", "nginx.conf");
    for (const path of ["run/ocsp-stapler", "tmp"]) await mkdir(join(pod, path), { recursive: true });
    const first = await fixture.staple();
    const volume = await KubeletVolume.create(join(pod, "etc/tls"), { "tls.crt": fixture.chainPem, "tls.key": fixture.leaf.keyPem, "tls.ocsp": first.der });
    const port = await freePort();
    await writeFile(join(pod, "nginx.conf"), relocate(config, pod, port));
    await startReloader(reloaderArgs.map((arg) => relocate(arg, pod, port)));
    const nginx = await startServer(nginxBinary() ?? "nginx", ["-p", pod, "-c", join(pod, "nginx.conf"), "-e", join(pod, "error.log"), "-g", "daemon off;"], port);
    assert.equal(await servedThisUpdate(port), first.thisUpdate, "the first handshake is stapled");
    const next = await fixture.staple();
    await volume.update({ "tls.crt": fixture.chainPem, "tls.key": fixture.leaf.keyPem, "tls.ocsp": next.der });
    await waitFor(async () => ((await servedThisUpdate(port)) === next.thisUpdate ? true : undefined), "the new staple served");
    assert.equal(nginx.exitCode, null, "the same nginx master");
  });

  void it("haproxy.yaml: HAProxy staples from <crt>.ocsp at start; a new one is pushed over the runtime API", async () => {
    const pod = join(root, "haproxy");
    const { config, reloaderArgs } = await example("haproxy.yaml", "haproxy.cfg");
    await mkdir(join(pod, "run/haproxy"), { recursive: true });
    const first = await fixture.staple();
    const files = (staple: Uint8Array) => ({ "tls.crt": fixture.chainPem, "tls.crt.key": fixture.leaf.keyPem, "tls.crt.ocsp": staple });
    const volume = await KubeletVolume.create(join(pod, "etc/tls"), files(first.der));
    const port = await freePort();
    await writeFile(join(pod, "haproxy.cfg"), relocate(config, pod, port));
    const haproxy = await startServer(haproxyBinary() ?? "haproxy", ["-db", "-f", join(pod, "haproxy.cfg")], port);
    await startReloader(reloaderArgs.map((arg) => relocate(arg, pod, port)));
    assert.equal(await servedThisUpdate(port), first.thisUpdate, "the first handshake is stapled");
    const next = await fixture.staple();
    await volume.update(files(next.der));
    await waitFor(async () => ((await servedThisUpdate(port)) === next.thisUpdate ? true : undefined), "the new staple served");
    assert.equal(haproxy.exitCode, null, "the same HAProxy process");
  });
});
