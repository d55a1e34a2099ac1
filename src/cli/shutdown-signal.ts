/**
 * Resolves on the first SIGTERM or SIGINT. Listening replaces Node's default
 * (exit at once), so a long-running command can stop cleanly; in a
 * container it may be pid 1, which ignores a SIGTERM nothing handles.
 */
export function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGTERM", resolve);
    process.once("SIGINT", resolve);
  });
}
