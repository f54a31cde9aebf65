# etcdns container image.
#
#   docker build -t etcdns:0.1.0 .
#   docker run --rm -p 1053:1053/udp -p 1053:1053/tcp -p 8080:8080 -p 8181:8181 -p 9153:9153 etcdns:0.1.0
#
# Two stages: the first has the dev dependencies (TypeScript) and builds dist/; the second
# gets only dist/, the production node_modules, the example zones and package.json, so that
# no compiler, no dev dependency and no source ends up in the image that runs.
# test/deploy.test.ts replays the COPY and RUN steps of both stages in a temporary directory.

# Official images, pinned to the Node major the server is tested on. The build stage is the
# full image because it has a C compiler for the native UDP addon (native/udp_batch.c); the
# same Debian release (bookworm, same glibc) as the slim final stage, so that what it builds
# runs there.
FROM node:22-bookworm AS build
WORKDIR /app
# The lock file first: the dependency layer is rebuilt only when the dependencies change.
# --ignore-scripts: package.json's "prepare" would run tsc before the sources are here, and
# no dependency needs an install script (protobufjs' postinstall only prints warnings).
COPY package.json package-lock.json .npmrc ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY native ./native
COPY scripts/build-native.mjs ./scripts/build-native.mjs
# The image must have the batched UDP engine: fail the build rather than ship the fallback.
RUN ETCDNS_REQUIRE_NATIVE=1 npm run build
# Drops the dev dependencies from node_modules, which the next stage copies as it is.
RUN npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the server's user: a compromised process cannot rewrite
# its own code.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/native/build ./native/build
# The example zone, served by default (--zones zones, relative to /app). Kubernetes mounts
# its own zones over a directory of its choosing (k8s/base/etcdns.yaml).
COPY zones ./zones
# A numeric user that exists nowhere: Kubernetes' runAsNonRoot can only verify a number.
USER 10001:10001
# DNS on an unprivileged port (a Service maps 53 to it), then /health, /ready and /metrics.
EXPOSE 1053/udp 1053/tcp 8080 8181 9153
# The slim image has no curl or wget: node itself asks /health.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM starts the lameduck period (--lameduck, 5s by default): /ready turns 503 while DNS
# is still answered, then the listeners close. docker stop waits 10 s before SIGKILL.
STOPSIGNAL SIGTERM
# node is PID 1 and handles SIGTERM and SIGINT itself: no init or shell in between.
# V8's young generation fixed at 4 MiB per semi-space (docs/performance.md, Memory; the etcdns bin's
# shebang says the same). Capped: Node's default lets it grow to 16 MiB during a large initial
# etcd list and keep it (100k keys: ~240 -> ~197 MiB resident). Floored: after idle V8 shrinks
# it to 1 MiB and then collects four times as often under a steady query rate (higher p99).
# Young-generation collections on the main thread alone (--no-parallel-scavenge): with little
# surviving they are as quick, and never wait for a helper thread a busy node does not
# schedule (docs/performance.md, Latency: pauses of up to 181 ms → at most 14 ms on a loaded box).
# Old-generation collections: one after the warm-up, before /ready (--expose-gc lets the server
# ask for it), and none started by V8's memory reducer (--no-memory-reducer), which otherwise runs
# up to three, of 4-36 ms each on a loaded box, some 8-16 s after start, while serving
# (docs/performance.md, Latency from a cold start). --initial-old-space-size=64: no mark-compact
# in the first seconds of traffic either (src/cli/run.ts).
ENTRYPOINT ["node", "--max-semi-space-size=4", "--min-semi-space-size=4", "--no-parallel-scavenge", "--no-memory-reducer", "--expose-gc", "--initial-old-space-size=64", "/app/dist/cli/main.js"]
# Listen on every interface (a container's loopback is unreachable from outside it).
CMD ["serve", "--listen", "0.0.0.0:1053", "--health-listen", "0.0.0.0:8080", "--ready-listen", "0.0.0.0:8181", "--metrics-listen", "0.0.0.0:9153"]
