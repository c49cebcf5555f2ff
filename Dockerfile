# syntax=docker/dockerfile:1
# DRAFT until the "ship it" issue: builds, but is not yet smoke-tested in CI.
# The base image is an argument so tests can build offline against a locally made Node image.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY actors ./actors
COPY supervisor ./supervisor
COPY messages ./messages
COPY persistence ./persistence
COPY lib ./lib
COPY cli ./cli
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="dockflare-agent" \
      org.opencontainers.image.description="DockFlare Agent in TypeScript" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production AGENT_DATA_DIR=/app/data
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
RUN groupadd -g 65532 dockflare 2>/dev/null || true; \
    useradd -u 65532 -g 65532 -M -s /usr/sbin/nologin dockflare 2>/dev/null || true; \
    mkdir -p /app/data && chown 65532:65532 /app/data && chmod 0700 /app/data
USER 65532:65532
VOLUME ["/app/data"]
# Run with `--init` (compose: `init: true`) so SIGTERM reaches the agent and zombies are reaped.
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["run"]
