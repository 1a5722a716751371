#!/usr/bin/env bash
# Makes sure a Docker engine answers and the sandbox PostgreSQL image exists.
# Starts dockerd in the background when it is installed but not running (its pid goes to
# /run/pgdrill-dockerd.pid so .ci/run can stop what it started), then builds the offline image
# with scripts/build-postgres-image.sh unless it is already present.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '[docker-up] %s\n' "$*"; }
command -v docker >/dev/null 2>&1 || { log "docker CLI not installed"; exit 1; }
if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null 2>&1 || { log "dockerd not installed"; exit 1; }
  log "starting dockerd"
  nohup dockerd >/tmp/pgdrill-dockerd.log 2>&1 &
  echo $! > /run/pgdrill-dockerd.pid
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { log "dockerd did not answer; see /tmp/pgdrill-dockerd.log"; exit 1; }
fi
MAJOR="${PGDRILL_PG_MAJOR:-15}"
IMAGE="${PGDRILL_SANDBOX_IMAGE:-postgres:{major\}}"
IMAGE="${IMAGE//\{major\}/$MAJOR}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE present"
elif timeout 60 docker pull -q "$IMAGE" >/dev/null 2>&1; then
  log "pulled $IMAGE"
else
  log "no registry reachable: building $IMAGE offline"
  bash scripts/build-postgres-image.sh "$IMAGE"
fi
