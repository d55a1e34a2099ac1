// The tests and the CLI target Node 24 LTS (the container runs the same major).
// `npm ci` installs it as the `node` dev dependency and npm scripts put it first
// on PATH; this guard turns a wrong runtime into one clear line instead of odd
// failures later.
const major = Number(process.versions.node.split(".")[0]);
if (major !== 24) {
  console.error(`ocsp-stapler needs Node 24 LTS, found ${process.version}. Run the tests with "npm test" after "npm ci".`);
  process.exit(1);
}
