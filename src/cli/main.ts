#!/usr/bin/env node
// The `ocsp-stapler` entry point. It checks the runtime before loading
// anything else: under another Node major the dependencies fail deep inside
// (undici under Node 20: "Cannot read properties of undefined (reading
// 'bind')"), so this file imports nothing statically and says plainly what is
// wrong. Keep it free of syntax or APIs newer than Node 14 (top-level await).
const REQUIRED_NODE_MAJOR = 24;

const found = process.versions.node;
if (Number(found.split(".")[0]) !== REQUIRED_NODE_MAJOR) {
  process.stderr.write(`ocsp-stapler needs Node ${REQUIRED_NODE_MAJOR} (found ${found}). Install Node ${REQUIRED_NODE_MAJOR} LTS, or run it with "npx ocsp-stapler" in this project after "npm ci", which installs Node ${REQUIRED_NODE_MAJOR}.\n`);
  process.exit(2);
}
const { main, processContext } = await import("./run-command-line.ts");
process.exitCode = await main(process.argv.slice(2), processContext());
