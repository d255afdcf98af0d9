# The ingest service for Cloud Run: Node 22, production dependencies only (zod, pino, prom-client,
# @google-cloud/pubsub — no DuckDB, Dataform or dashboard), run as the unprivileged `node` user.
FROM node:22-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY ingest ./ingest
USER node
EXPOSE 8080
# `node`, not `npm`, so SIGTERM reaches the service and it drains within Cloud Run's 10 s. A 32 MB
# semi-space lets a request's events die young although they live until their group commits (tens of
# ms): measured on the DuckDB path, +20 % events per CPU-second (BENCHMARKS.md, "The raw dataset in its own file").
CMD ["node", "--max-semi-space-size=32", "ingest/server.ts"]
