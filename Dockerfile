# seb sidecar image: Node 24 LTS, production dependencies only, non-root. Node 24 runs the TypeScript sources
# directly (type stripping), so there is no build stage.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production \
    SEB_STATE_DIR=/var/lib/seb
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY config ./config
COPY errors ./errors
COPY ops ./ops
COPY proxy ./proxy
COPY parsers ./parsers
COPY certs ./certs
COPY runtime ./runtime
COPY pipeline ./pipeline
COPY platforms ./platforms
COPY ledger ./ledger
COPY admission ./admission
COPY audit ./audit
# Hardening: a numeric non-root user (1000 is `node`), so Kubernetes can verify runAsNonRoot; seb writes only to
# its state directory, so the root filesystem can be read-only (docker run --read-only, Kubernetes
# readOnlyRootFilesystem) with /var/lib/seb as a volume; it needs no capabilities (--cap-drop ALL, drop: [ALL]) and
# binds only unprivileged ports.
RUN mkdir -p /var/lib/seb && chown 1000:1000 /var/lib/seb && chmod 0700 /var/lib/seb
VOLUME ["/var/lib/seb"]
USER 1000:1000
# 7080 forward proxy (HTTPS_PROXY), 7443 endpoint listener, 7090 admin (/healthz, /readyz, /metrics).
# Listeners bind to loopback by default (a sidecar shares its pod's network namespace); for `docker run -p`
# set SEB_PROXY_LISTEN=0.0.0.0:7080 etc.
EXPOSE 7080 7443 7090
ENTRYPOINT ["node", "bin/seb.ts"]
CMD ["serve"]
