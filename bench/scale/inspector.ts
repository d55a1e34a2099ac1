import { createWriteStream } from "node:fs";
import { once } from "node:events";
import { WebSocket } from "undici";

type Call = (method: string, params?: Record<string, unknown>) => Promise<Record<string, unknown>>;

/**
 * The live heap of another Node process after a full garbage collection,
 * asked over its inspector (started with `--inspect=127.0.0.1:PORT`): the
 * DevTools protocol's HeapProfiler.collectGarbage, then Runtime.getHeapUsage.
 * RSS says little about what a process keeps (V8 and glibc hold freed pages);
 * the heap after a collection is what is still reachable.
 */
export function heapAfterGc(inspectPort: number): Promise<number> {
  return session(inspectPort, async (call) => {
    // Twice: weak references and finalizers free more on the second pass.
    await call("HeapProfiler.collectGarbage");
    await call("HeapProfiler.collectGarbage");
    return Number((await call("Runtime.getHeapUsage")).usedSize);
  });
}

/** Writes a heap snapshot of that process to `path` (for bench/profile-summary.ts or Chrome's DevTools). */
export function writeHeapSnapshot(inspectPort: number, path: string): Promise<void> {
  return session(inspectPort, async (call, socket) => {
    const file = createWriteStream(path);
    const chunk = (event: { data: unknown }) => {
      const message = JSON.parse(String(event.data)) as { method?: string; params?: { chunk?: string } };
      if (message.method === "HeapProfiler.addHeapSnapshotChunk") file.write(message.params?.chunk ?? "");
    };
    socket.addEventListener("message", chunk);
    await call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    socket.removeEventListener("message", chunk);
    file.end();
    await once(file, "close");
  });
}

/** One DevTools protocol session: `call` sends a method and resolves with its result. */
async function session<T>(inspectPort: number, work: (call: Call, socket: WebSocket) => Promise<T>): Promise<T> {
  const targets = await (await fetch(`http://127.0.0.1:${String(inspectPort)}/json/list`)).json() as { webSocketDebuggerUrl: string }[];
  const url = targets[0]?.webSocketDebuggerUrl;
  if (url === undefined) throw new Error(`no inspector target on port ${String(inspectPort)}`);
  const socket = new WebSocket(url);
  await new Promise((resolve, reject) => { socket.onopen = resolve; socket.onerror = reject; });
  let id = 0;
  const call: Call = (method, params = {}) => new Promise((resolve) => {
    const mine = ++id;
    socket.addEventListener("message", function answer(event) {
      const message = JSON.parse(String(event.data)) as { id?: number; result?: Record<string, unknown> };
      if (message.id !== mine) return;
      socket.removeEventListener("message", answer);
      resolve(message.result ?? {});
    });
    socket.send(JSON.stringify({ id: mine, method, params }));
  });
  try {
    return await work(call, socket);
  } finally {
    socket.close();
  }
}
