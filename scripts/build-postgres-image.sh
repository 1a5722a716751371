#!/usr/bin/env bash
# Builds a PostgreSQL image without any container registry, from Debian packages only:
#   bash scripts/build-postgres-image.sh [IMAGE]     (default postgres:15)
# Useful on its own for air-gapped hosts. The image keeps the official image's contract —
# POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, port 5432, scram-sha-256 from any host, and
# "database system is ready to accept connections" logged twice (init server, then the real one) —
# so @testcontainers/postgresql runs it unchanged.
# Env: PGDRILL_PG_MAJOR (15), DEBIAN_SUITE (bookworm), DEBIAN_MIRROR (from /etc/apt sources).
set -euo pipefail
MAJOR="${PGDRILL_PG_MAJOR:-15}"
IMAGE="${1:-postgres:$MAJOR}"
SUITE="${DEBIAN_SUITE:-bookworm}"
# shellcheck source=scripts/debian-mirror.sh
source "$(dirname "$0")/debian-mirror.sh"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-$(debian_mirror debian)}"
command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }

ROOTFS=$(mktemp -d /tmp/pgdrill-rootfs.XXXXXX)
# An interrupted debootstrap leaves /proc mounted in the tree: unmount before removing it.
trap 'findmnt -rn -o TARGET | grep -F "$ROOTFS/" | sort -r | xargs -r -d "\n" umount -l 2>/dev/null; rm -rf --one-file-system "$ROOTFS"' EXIT
echo "[build-postgres-image] debootstrap $SUITE from $DEBIAN_MIRROR (postgresql-$MAJOR)"
debootstrap --variant=minbase --include="postgresql-$MAJOR,locales-all" "$SUITE" "$ROOTFS" "$DEBIAN_MIRROR" >/tmp/pgdrill-debootstrap.log 2>&1 \
  || { echo "debootstrap failed; see /tmp/pgdrill-debootstrap.log" >&2; exit 1; }
rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*

cat >"$ROOTFS/usr/local/bin/docker-entrypoint.sh" <<ENTRY
#!/bin/bash
# Mirrors the official postgres image's entrypoint for the variables it honours.
set -euo pipefail
BIN=/usr/lib/postgresql/$MAJOR/bin
export PGDATA="\${PGDATA:-/var/lib/postgresql/data}"
: "\${POSTGRES_USER:=postgres}" "\${POSTGRES_DB:=\$POSTGRES_USER}"
if [ -z "\${POSTGRES_PASSWORD:-}" ]; then echo "POSTGRES_PASSWORD must be set" >&2; exit 1; fi
mkdir -p "\$PGDATA" /var/run/postgresql
chown -R postgres:postgres "\$PGDATA" /var/run/postgresql
chmod 700 "\$PGDATA"
if [ ! -s "\$PGDATA/PG_VERSION" ]; then
  pwfile=\$(mktemp); printf '%s' "\$POSTGRES_PASSWORD" >"\$pwfile"; chown postgres "\$pwfile"
  su postgres -s /bin/bash -c "\$BIN/initdb -D '\$PGDATA' -U '\$POSTGRES_USER' --pwfile='\$pwfile' --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8" >/dev/null
  rm -f "\$pwfile"
  echo "host all all all scram-sha-256" >>"\$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"\$PGDATA/postgresql.conf"
  su postgres -s /bin/bash -c "\$BIN/pg_ctl -D '\$PGDATA' -o '-c listen_addresses=' -w start"
  if [ "\$POSTGRES_DB" != postgres ]; then
    su postgres -s /bin/bash -c "\$BIN/psql -v ON_ERROR_STOP=1 -U '\$POSTGRES_USER' -d postgres -q -c 'CREATE DATABASE \"\$POSTGRES_DB\"'"
  fi
  su postgres -s /bin/bash -c "\$BIN/pg_ctl -D '\$PGDATA' -m fast -w stop"
fi
exec su postgres -s /bin/bash -c "exec \$BIN/postgres -D '\$PGDATA' \$*"
ENTRY
chmod +x "$ROOTFS/usr/local/bin/docker-entrypoint.sh"
ln -sf /usr/lib/postgresql/$MAJOR/bin/pg_restore "$ROOTFS/usr/local/bin/pg_restore"

echo "[build-postgres-image] importing as $IMAGE"
tar -C "$ROOTFS" -c . | docker import \
  -c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
  -c 'EXPOSE 5432' \
  -c "ENV PATH=/usr/lib/postgresql/$MAJOR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  -c 'ENV LANG=C.UTF-8' \
  - "$IMAGE" >/dev/null
echo "[build-postgres-image] built $IMAGE"
