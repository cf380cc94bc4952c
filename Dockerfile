# syntax=docker/dockerfile:1
# StreamSpace Node Manager image: built in stages, run as `node dist/server.js` with production
# dependencies only, as a non-root user, on a distroless Node 22 runtime (no shell, no npm).
# test/image/production-layout.test.ts runs these stages' COPY and RUN steps in a temporary copy
# and starts the result: keep each RUN a plain command line.

# --- build: every dependency, then the TypeScript (and the admin UI, once it exists) into dist/
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- deps: production dependencies only (no tsx, typescript or tap), without the type
# declarations and source maps nothing loads at run time (about 45 of 100 MB, mostly client-node's)
FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
RUN find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete

# --- runtime: node, the compiled service and its production dependencies; nothing else
FROM gcr.io/distroless/nodejs22-debian12:nonroot AS runtime
WORKDIR /app
ENV NODE_ENV=production PORT=8080 HOST=0.0.0.0
# glibc: allocations of 128 KiB and more (LIST pages, response buffers) are mapped and given back
# when freed; by default the threshold climbs after the first large free and such buffers stay in
# the heap (~80 MiB of RSS after a sync of 150,000 pods, README Benchmarks).
ENV MALLOC_MMAP_THRESHOLD_=131072
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
# distroless "nonroot": uid/gid 65532, numeric so runAsNonRoot can check it (the chart sets the same).
USER 65532:65532
EXPOSE 8080
# The distroless entrypoint is node itself: this runs `node --max-semi-space-size=2 --expose-gc
# --no-allocation-site-pretenuring dist/server.js`. A 2 MB young generation (V8's default grows to
# 16 MB per semi-space and keeps it): the list parsing's garbage dies young either way, what
# survives is kept for good. --expose-gc lets the service, once its caches have synced, hold the
# old generation's growth to 10% past what a full GC keeps (not up to 4x) and run that one GC
# (src/server.ts): at 5,000 nodes and 150,000 pods ~235 vs ~400 MiB of RSS under load, while the
# cold start keeps V8's free growth (~1 s sooner ready). No pretenuring: objects that survive the
# cold start's sync taught V8 to allocate some sites straight into the old generation, and once a
# request's objects came from such a site everything they pointed to survived each scavenge
# (~320 KB a scavenge promoted against ~12 KB without; a third of a small answer's CPU went to GC)
# (README, Benchmarks). npm run bench runs the service with these flags and ENV.
CMD ["--max-semi-space-size=2", "--expose-gc", "--no-allocation-site-pretenuring", "dist/server.js"]
