#!/bin/sh
# Prepares the root file system of the pgdrill image, run as root inside it: by the Dockerfile
# (RUN) and by scripts/build-image.sh (chroot into the debootstrapped tree). One script for both
# so the two ways of building give the same image. Node and the pgdrill package are added after
# this (into /usr/local), by each builder its own way.
set -eu
export DEBIAN_FRONTEND=noninteractive

# No service may start during the build; keep a policy the base image already has.
made_policy=false
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  made_policy=true
fi

# Like Debian's slim images: no manuals, documentation or message translations (about 100 MB
# here; Chromium's own locales are elsewhere); the copyright files stay.
cat >/etc/dpkg/dpkg.cfg.d/pgdrill-slim <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find /usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/groff/* /usr/share/lintian/*

apt-get update -qq
apt-get upgrade -y -qq
apt-get install -y -qq --no-install-recommends postgresql-common
# pgdrill starts its own throwaway clusters; the package's default cluster would only take space.
sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
# PostgreSQL 15 (bookworm's): server binaries for the embedded sandbox (initdb, pg_ctl, postgres)
# and client tools for backup and restore (pg_dump, pg_restore, psql); Chromium and the report's
# fonts (DejaVu Sans and Mono).
apt-get install -y -qq --no-install-recommends \
  postgresql-15 postgresql-client-15 chromium fonts-dejavu-core ca-certificates
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt/* /var/log/dpkg.log
# ssl-cert made a "snakeoil" key pair at install time: nothing here uses it, and every container
# of the image would share its private key.
rm -f /etc/ssl/private/ssl-cert-snakeoil.key /etc/ssl/certs/ssl-cert-snakeoil.pem
find /etc/ssl/certs -xtype l -delete
if [ "$made_policy" = true ]; then rm -f /usr/sbin/policy-rc.d; fi

# The user pgdrill runs as; numeric uid 10001 so Kubernetes can check runAsNonRoot. As a
# non-root user the embedded sandbox runs its PostgreSQL server as this same user.
useradd --uid 10001 --user-group --create-home --home-dir /home/pgdrill --shell /usr/sbin/nologin pgdrill
install -d -o pgdrill -g pgdrill -m 0755 /work
# A project mounted at /work imports `pgdrill` and `pgdrill/drill` (config file, its own drills
# and checks); module resolution walks up to /node_modules and finds the installed package.
mkdir -p /node_modules
ln -sfn /usr/local/lib/node_modules/pgdrill /node_modules/pgdrill
