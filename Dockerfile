# scaph agent image. Build: docker build -t scaph .   (docker-compose/compose.yaml builds it too)
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts
COPY src ./src
COPY proto ./proto
RUN npx tsc -p tsconfig.json && npm prune --omit=dev --ignore-scripts

FROM node:20.20.2-bookworm-slim
WORKDIR /opt/scaph
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY --from=build /src/proto ./proto
# Reading energy_uj needs root or a group granted by systemd/scaph-powercap.conf on the host.
USER root
# The same V8 flags as the shebang of src/bin.ts (why: see there).
ENTRYPOINT ["node", "--min-semi-space-size=3", "--max-semi-space-size=3", "--no-allocation-site-pretenuring", "--single-threaded", "--heap-growing-percent=50", "/opt/scaph/dist/src/bin.js"]
CMD ["run", "-c", "/etc/scaph/scaph.toml"]
