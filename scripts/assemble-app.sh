#!/bin/sh
# Assembles what the container image runs into DEST: the compiled dist/ and the
# production dependencies only (no TypeScript, no test tools, no type stripping at
# run time). The Dockerfile runs this; so does test/kube/production-build.test.ts,
# so the test starts exactly what the image would.
#
# Needs the dev dependencies installed in this checkout (for tsc) and the npm
# registry. Usage: scripts/assemble-app.sh DEST
set -eu
dest=${1:?usage: scripts/assemble-app.sh DEST}
cd "$(dirname "$0")/.."

# tsc is run by path with whatever `node` is first on PATH: in the image's build
# stage the dev dependency `node` is installed with --ignore-scripts and has no binary.
node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$dest/dist" --sourceMap false --declaration false
chmod 755 "$dest/dist/cli/main.js"
cp package.json package-lock.json "$dest/"
# --ignore-scripts: the package's own "prepare" would try to build with the (omitted)
# dev dependencies; none of the production dependencies needs an install script.
(cd "$dest" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
