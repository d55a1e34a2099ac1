import assert from "node:assert/strict";
import { join } from "node:path";
import type { V1Secret } from "@kubernetes/client-node";
import { startHaproxy, type RunningHaproxy } from "./haproxy.ts";
import type { KubeEnv } from "./kube-env.ts";
import { KubeletVolume, type VolumeFiles } from "./kubelet-volume.ts";
import { prepareIncludingNginx, type IncludingNginx, type PreparedNginx } from "./nginx-include.ts";
import { startReloaderProcess, type ReloaderProcess } from "./reloader-process.ts";

/** A TLS Secret and its companion, as the API server has them now: what a pod's projected volume shows. */
export interface PodSecrets {
  readonly tls: V1Secret;
  readonly companion: V1Secret;
}

/** Reads `name` and `name-ocsp` (both must exist). */
export async function readPodSecrets(env: KubeEnv, name: string): Promise<PodSecrets> {
  const [tls, companion] = await Promise.all([env.readSecret(name), env.readSecret(`${name}-ocsp`)]);
  assert.ok(tls && companion, `Secrets ${name} and ${name}-ocsp`);
  return { tls, companion };
}

/** The files a pod sees: the Secrets' data keys, projected as `items` would rename them. */
export function project(sources: readonly { secret: V1Secret; items: Readonly<Record<string, string>> }[]): VolumeFiles {
  const files: Record<string, Uint8Array> = {};
  for (const { secret, items } of sources) {
    for (const [key, path] of Object.entries(items)) {
      const value = secret.data?.[key];
      if (value !== undefined) files[path] = new Uint8Array(Buffer.from(value, "base64"));
    }
  }
  return files;
}

/** nginx's volume: tls.crt, tls.key and the companion's tls.ocsp. */
export function nginxPodFiles({ tls, companion }: PodSecrets): VolumeFiles {
  return project([{ secret: tls, items: { "tls.crt": "tls.crt", "tls.key": "tls.key" } }, { secret: companion, items: { "tls.ocsp": "tls.ocsp" } }]);
}

/** HAProxy's volume: tls.crt with tls.crt.key and tls.crt.ocsp beside it, as HAProxy looks for them. */
export function haproxyPodFiles({ tls, companion }: PodSecrets): VolumeFiles {
  return project([{ secret: tls, items: { "tls.crt": "tls.crt", "tls.key": "tls.crt.key" } }, { secret: companion, items: { "tls.ocsp": "tls.crt.ocsp" } }]);
}

/**
 * A pod of nginx with `ocsp-stapler reloader` beside it: the kubelet-style
 * volume in `dir`, nginx including the reloader's snippets; the reloader
 * starts first and has synced once before nginx starts, as a native sidecar
 * with a startup probe.
 */
export interface NginxPod {
  readonly volume: KubeletVolume;
  readonly prepared: PreparedNginx;
  readonly nginx: IncludingNginx;
  readonly reloader: ReloaderProcess;
  stop(): Promise<void>;
}

export async function startNginxPod(dir: string, files: VolumeFiles): Promise<NginxPod> {
  const volume = await KubeletVolume.create(join(dir, "tls"), files);
  const stapleDir = join(dir, "run-ocsp-stapler");
  const prepared = await prepareIncludingNginx({ certPath: volume.path("tls.crt"), keyPath: volume.path("tls.key"), stapleDir });
  let reloader: ReloaderProcess | undefined;
  try {
    reloader = await startReloaderProcess(["--server", "nginx", "--cert", volume.dir, "--staple", volume.path("tls.ocsp"), "--nginx-staple-dir", stapleDir, "--nginx-pid-file", prepared.pidFile, "--nginx-test-command", prepared.testCommand]);
    const nginx = await prepared.start();
    const started = reloader;
    return { volume, prepared, nginx, reloader: started, stop: async () => { await started.stop(); await prepared.cleanup(); } };
  } catch (error) {
    await reloader?.stop();
    await prepared.cleanup();
    throw error;
  }
}

/**
 * A pod of HAProxy with `ocsp-stapler reloader` beside it: HAProxy reads
 * tls.crt (key and staple beside it) from the kubelet-style volume in `dir`
 * at its start; the reloader then keeps the staple current through the
 * runtime API socket.
 */
export interface HaproxyPod {
  readonly volume: KubeletVolume;
  readonly haproxy: RunningHaproxy;
  readonly reloader: ReloaderProcess;
  stop(): Promise<void>;
}

export async function startHaproxyPod(dir: string, files: VolumeFiles): Promise<HaproxyPod> {
  const volume = await KubeletVolume.create(join(dir, "tls"), files);
  const haproxy = await startHaproxy({ crtPath: volume.path("tls.crt") });
  try {
    const reloader = await startReloaderProcess(["--server", "haproxy", "--cert", volume.path("tls.crt"), "--staple", volume.path("tls.crt.ocsp"), "--haproxy-socket", haproxy.socketPath]);
    return { volume, haproxy, reloader, stop: async () => { await reloader.stop(); await haproxy.stop(); } };
  } catch (error) {
    await haproxy.stop();
    throw error;
  }
}
