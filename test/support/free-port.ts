import { createServer } from "node:net";

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, for programs (nginx,
 * openssl) that cannot report the port they were given with port 0. Callers
 * retry on EADDRINUSE, since another process may take it in between.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}
