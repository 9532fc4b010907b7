# syntax=docker/dockerfile:1
# The istio-canary worker image.
#
#   docker build --build-arg ISTIO_VERSION=1.30.3 -t istio-canary-worker:0.1.0-istio1.30.3 .
#
# The image carries the istioctl of one target Istio version, at /opt/istio-<version>/bin/istioctl
# (what a plan's spec.target.istioctl names; also on PATH). `--target runtime` builds it without istioctl, for
# mounting istioctl binaries from a volume instead (docs/operator-guide.md, "Installing").
# Nothing secret is built in: the Temporal address, TLS material or API key and the Kubernetes
# credentials come from the environment and mounted Secrets when the container runs.

ARG NODE_VERSION=24
ARG ISTIO_VERSION=1.30.3

# istioctl, from Istio's own image of that release.
FROM docker.io/istio/istioctl:${ISTIO_VERSION} AS istioctl

# Compile and pack with the dev dependencies; only the tarball leaves this stage.
FROM docker.io/library/node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# prepack runs `npm run build` (dist/); the tarball is exactly what `npm publish` would ship.
RUN npm pack --pack-destination /pkg && mv /pkg/istio-canary-*.tgz /pkg/istio-canary.tgz

# The tarball's production dependencies and dist/, as `npm install -g` would lay them out.
FROM docker.io/library/node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
RUN --mount=type=bind,from=build,source=/pkg,target=/pkg \
    npm install --global --omit=dev --no-audit --no-fund /pkg/istio-canary.tgz \
    && npm cache clean --force
# A numeric, non-root identity (Kubernetes can verify runAsNonRoot only for a numeric USER).
RUN groupadd --system --gid 10001 istio-canary \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/istio-canary --no-create-home --shell /usr/sbin/nologin istio-canary \
    && mkdir -p /var/lib/istio-canary/backups \
    && chown -R 10001:10001 /var/lib/istio-canary
ENV HOME=/var/lib/istio-canary \
    ISTIO_CANARY_BACKUP_DIR=/var/lib/istio-canary/backups
WORKDIR /var/lib/istio-canary
USER 10001:10001
# A smaller resident worker (worker/memory.ts; docs/benchmarks.md, "Worker memory"):
# 1 MB young-generation semi-spaces, two malloc arenas, freed pages returned sooner.
# The workflow bundle made by `npm run build` ships in dist/, so no webpack at start.
ENV NODE_OPTIONS=--max-semi-space-size=1 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_TRIM_THRESHOLD_=1048576
# Worker metrics (/metrics) when ISTIO_CANARY_METRICS_ADDRESS is set, e.g. 0.0.0.0:9464.
EXPOSE 9464
ENTRYPOINT ["istio-canary", "worker"]

# The default image: the runtime plus the istioctl of ISTIO_VERSION.
FROM runtime AS worker
ARG ISTIO_VERSION
COPY --from=istioctl /usr/local/bin/istioctl /opt/istio-${ISTIO_VERSION}/bin/istioctl
# On PATH too, for plans that name a bare `istioctl` (preflight still checks its version).
ENV PATH=/opt/istio-${ISTIO_VERSION}/bin:${PATH}
LABEL io.istio-canary.istio-version="${ISTIO_VERSION}"
