# callhook: docker build -t callhook . (docs/deploy.md)
#
# build: the dependencies with the compiler better-sqlite3 may need (node:20-bookworm has
# python3, make and g++), then dist/ from src/, then the dev dependencies pruned away.
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build-if-stale.mjs scripts/
# better-sqlite3 takes a prebuilt binary or compiles; prepare finds no src/ yet and builds nothing
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

# runtime: Node, the production dependencies and dist/ only; no compiler, no sources
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    CALLHOOK_DATA_DIR=/data \
    CALLHOOK_HOST=0.0.0.0 \
    CALLHOOK_PORT=8080
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/dist/ dist/
# the data directory (SQLite database, generated admin token) belongs to the unprivileged user
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.CALLHOOK_PORT || 8080) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# no arguments: the daemon; otherwise an admin command (docker run … callhook accounts list)
ENTRYPOINT ["node", "--max-semi-space-size=4", "dist/cli.js"]
