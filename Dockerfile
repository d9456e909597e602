# One image for both servers: `tollgate authz serve …` and `tollgate authn serve …`.
# Build:  docker build -t tollgate:dev .   (or scripts/build-images.sh, which also works offline)
# No `# syntax=` line: BuildKit's built-in frontend is enough, and an air-gapped engine cannot pull one.
ARG NODE_IMAGE=node:20-bookworm-slim
# The build stage's base: the same image by default (the official one carries npm); the offline build
# passes a Debian base that has npm and a compiler (scripts/build-images.sh).
ARG BUILD_IMAGE=${NODE_IMAGE}

# ---- build: compile TypeScript (npm ci runs `prepare` = `npm run build`), then drop dev dependencies ----
FROM ${BUILD_IMAGE} AS build
# better-sqlite3 falls back to a source build when no prebuilt binary matches (or GitHub is unreachable).
RUN if ! command -v g++ >/dev/null || ! command -v make >/dev/null || ! command -v python3 >/dev/null; then \
      apt-get update \
      && apt-get install -y --no-install-recommends python3 make g++ \
      && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY common ./common
COPY cli ./cli
COPY authz-server ./authz-server
COPY authn-server ./authn-server
COPY controller ./controller
COPY proxy ./proxy
# The CLI's `start` command imports scripts/make-oci-image.ts, so tsc needs scripts/ too.
COPY scripts ./scripts
# Behind a TLS-intercepting proxy npm needs its CA: `docker build --secret id=npm_ca,src=BUNDLE`. A
# secret is mounted for this step only and never lands in a layer (an ARG or COPY would).
RUN --mount=type=secret,id=npm_ca \
    if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
 && npm ci --no-audit --no-fund \
 && npm prune --omit=dev --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /root/.npm /tmp/*

# ---- runtime: production dependencies, compiled JS, non-root ----
FROM ${NODE_IMAGE}
# authn-server's smaller V8 young generation (NODE_OPTIONS=--max-semi-space-size=2) is set where authn runs — its
# compose service and k8s Deployment — not here, so authz, the proxy and the controller keep node's default
# (docs/authn.md § Memory).
ENV NODE_ENV=production \
    TOLLGATE_AUTHZ_LISTEN=0.0.0.0:5001 \
    TOLLGATE_AUTHZ_DB=/data/authz.db \
    TOLLGATE_AUTHN_LISTEN=0.0.0.0:5002
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
# /data holds the authz SQLite file; a named volume mounted there inherits this ownership.
RUN mkdir -p /data && chown node:node /data
# The base image's unprivileged `node` user (uid/gid 1000); numeric so runAsNonRoot can verify it.
USER 1000:1000
VOLUME ["/data"]
EXPOSE 5001 5002
ENTRYPOINT ["node", "/app/bin/tollgate.js"]
CMD ["--help"]
