# dockflare-agent image. Build: docker build -t dockflare-agent .
# The base image is an argument so that CI can build offline against a locally made Node image
# (scripts/make-node-base.sh); users get the official Node LTS slim image. Pin it by digest for reproducible builds:
#   docker build --build-arg NODE_IMAGE=node:22-bookworm-slim@sha256:<digest> -t dockflare-agent .
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts are not needed to compile (esbuild, ssh2's optional native add-on), so none run.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY domain ./domain
COPY supervisor ./supervisor
COPY messages ./messages
COPY actors ./actors
COPY docker ./docker
COPY master ./master
COPY persistence ./persistence
COPY log ./log
COPY agent ./agent
COPY cli ./cli
COPY scripts/bundle.mjs ./scripts/bundle.mjs
# tsc type-checks; the runtime gets only the minified bundle (scripts/bundle.mjs), no node_modules.
RUN npm run build

FROM ${NODE_IMAGE}
# 1 installs tini from Debian (official base); the offline test base already carries it.
ARG INSTALL_TINI=1
# The runtime needs node and tini only: no package manager (npm, corepack, yarn) to run code with, and no setuid
# or setgid binary a process of the image could gain privileges through.
RUN if [ "$INSTALL_TINI" = 1 ]; then \
      apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*; \
    fi \
 && rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && find / -xdev -perm /6000 -type f -exec chmod a-s {} + \
 && (grep -q '^dockflare:' /etc/group || echo 'dockflare:x:65532:' >>/etc/group) \
 && (grep -q '^dockflare:' /etc/passwd || echo 'dockflare:x:65532:65532:dockflare-agent:/app:/usr/sbin/nologin' >>/etc/passwd) \
 && mkdir -p /app/data && chown 65532:65532 /app/data && chmod 0700 /app/data
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/dist/dockflare-agent.mjs /src/dist/dockflare-agent.mjs.LEGAL.txt ./dist/
ENV NODE_ENV=production AGENT_DATA_DIR=/app/data HEALTH_CHECK_PORT=8080
USER 65532:65532
VOLUME ["/app/data"]
# The image has no curl: the agent's own verb asks its /livez (liveness: never failed by a master outage, which a
# restart cannot fix and whose restart would remove a working tunnel). The start period covers the start-up.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "/app/dist/dockflare-agent.mjs", "healthcheck"]
# tini as PID 1: signals reach node, and Docker's stop becomes the agent's graceful shutdown. No --lite-mode: under
# Node 22 (the default base) it once crashed the agent at start, when its HTTP client's import needed WebAssembly
# (spec/integration/node22.spec.ts runs this entrypoint's flags under Node 22). No --no-opt either: measured, it
# saves memory and costs the CPU of large hosts (docs/architecture.md §4.12).
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/dockflare-agent.mjs"]
CMD ["run"]
LABEL org.opencontainers.image.title="dockflare-agent" \
      org.opencontainers.image.description="DockFlare Agent in TypeScript: labelled containers, the cloudflared tunnel container, the DockFlare master" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="https://github.com/dockflare-agent/dockflare-agent"
