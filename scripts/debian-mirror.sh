# shellcheck shell=bash
# Sourced by the offline image builders (build-postgres-image.sh, build-image.sh).
# debian_mirror ARCHIVE: the first URI of this host's apt sources that ends in /ARCHIVE
# (`debian` or `debian-security`), else deb.debian.org's: the image is built from the archive
# this machine already reaches.
debian_mirror() {
  local archive=$1 found
  found=$(grep -rhoE "^(URIs:|deb) *https?://[^ ]+/$archive/?( |\$)" /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | grep -oE 'https?://[^ ]+' | head -n1 || true)
  printf '%s\n' "${found:-http://deb.debian.org/$archive}"
}
