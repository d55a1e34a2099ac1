# The operator's image: `ocsp-stapler controller` by default, and the same binary
# for every other command (`fetch`, `inspect`, `check`, and the reloader sidecar).
# Build: docker build -t ocsp-stapler .
# The final stage holds Node 24, the compiled dist/ and the production dependencies
# only, and runs as a non-root user (65532, as the Helm chart's securityContext expects).

ARG NODE_IMAGE=node:24-trixie-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the dev dependency `node` would download a second Node binary,
# and "prepare" would build before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/assemble-app.sh scripts/
COPY src/ src/
RUN scripts/assemble-app.sh /app

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
COPY --from=build /app /app
RUN ln -s /app/dist/cli/main.js /usr/local/bin/ocsp-stapler
USER 65532:65532
ENTRYPOINT ["ocsp-stapler"]
CMD ["controller"]
