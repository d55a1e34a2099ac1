import { makeOfflineResponse } from "./test/support/offline-response.ts";
import { createRootCa, goodEntry } from "./test/support/pki.ts";
import { parseResponse } from "./src/ocsp/response-parser.ts";
const ca = await createRootCa({ name: "perf", key: "p256" });
const leaf = await ca.issue({ commonName: "x" });
const der = await makeOfflineResponse({ subject: leaf, ca, index: await ca.writeIndex([goodEntry(leaf)]), noCerts: true });
await ca.cleanup();
let n = 0; const t = performance.now(); while (performance.now() - t < 4000) { parseResponse(der); n++; }
console.log(n / 4, der.length);
