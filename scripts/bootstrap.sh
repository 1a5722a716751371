#!/usr/bin/env bash
# Installs everything pgdrill needs on a fresh Debian 12 machine (as root), idempotently:
# system packages (PostgreSQL 15 client+server, Chromium, poppler, Docker engine, debootstrap,
# Redis for the job service, pgBackRest for point-in-time drills, faketime for tests),
# Node 24 and pnpm 10 from the npm registry, and the project's dependencies.
# Usage: bash scripts/bootstrap.sh [--no-demo]   (runs `pnpm demo` at the end unless --no-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="/usr/local/bin:$PATH"

log() { printf '[bootstrap] %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

APT_PACKAGES=(postgresql-15 postgresql-client-15 chromium poppler-utils docker.io debootstrap ca-certificates redis-server pgbackrest faketime)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing system packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # The postgresql package would start a cluster on 5432 that pgdrill never uses.
  as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# pgdrill runs its TypeScript with Node's type stripping and uses zlib's zstd: Node >= 22.18.
node_ok() { node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)' 2>/dev/null; }
if ! command -v npm >/dev/null 2>&1; then
  log "installing Debian's nodejs and npm (only to fetch Node 24 from the npm registry)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if ! node_ok; then
  log "installing Node 24 (found $(node --version 2>/dev/null || echo none))"
  # Into /usr/local: the distribution's /usr/bin/node stays untouched and /usr/local/bin comes first on PATH.
  as_root npm i -g --prefix /usr/local --silent --no-fund --no-audit node@24 >/dev/null
  hash -r
fi
if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version | cut -d. -f1)" != 10 ]; then
  log "installing pnpm 10"
  as_root npm i -g --prefix /usr/local --silent --no-fund --no-audit pnpm@10 >/dev/null
  hash -r
fi
log "node $(node --version), pnpm $(pnpm --version)"

if [ "${CI:-}" = true ]; then
  pnpm install --frozen-lockfile --reporter=silent
else
  pnpm install --reporter=silent
fi

# Docker is optional for pgdrill (the embedded sandbox works without it) but used when present.
bash scripts/docker-up.sh || log "no Docker engine: drills will use the embedded sandbox"

if [ "${1:-}" != --no-demo ]; then
  pnpm -s demo
fi
