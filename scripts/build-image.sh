#!/usr/bin/env bash
# Builds the pgdrill image of the Dockerfile without any container registry, from the Debian
# archive and the npm registry only, for hosts where `docker build` cannot pull a base image:
#   bash scripts/build-image.sh [IMAGE] [--force]     (default IMAGE pgdrill:<package.json version>)
# An existing IMAGE is kept (exit 0) unless --force. Run as root (debootstrap, chroot).
# Same image as the Dockerfile: both run scripts/image-rootfs-setup.sh (packages, user, folders),
# install Node and the package the same way, and the image metadata (ENV, USER, WORKDIR,
# ENTRYPOINT, CMD, LABEL) is read from the Dockerfile's final stage.
# The package is built and packed from a copy of this checkout (its tracked and unignored files),
# so a build never touches the checkout's dist/.
# Env: NODE_VERSION (24), NPM_VERSION (11), DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR (from /etc/apt
# sources).
set -euo pipefail
SECONDS=0
cd "$(dirname "$0")/.."
export PATH="/usr/local/bin:$PATH"
log() { printf '[build-image] %s\n' "$*"; }
die() { printf '[build-image] %s\n' "$*" >&2; exit 1; }

force=false
IMAGE=""
for arg in "$@"; do
  case "$arg" in
    --force) force=true ;;
    -h | --help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $arg (usage: scripts/build-image.sh [IMAGE] [--force])" ;;
    *) [ -z "$IMAGE" ] || die "one image name only (got $IMAGE and $arg)"; IMAGE="$arg" ;;
  esac
done
VERSION=$(node -p 'require("./package.json").version')
IMAGE="${IMAGE:-pgdrill:$VERSION}"
NODE_VERSION="${NODE_VERSION:-24}"
NPM_VERSION="${NPM_VERSION:-11}"
SUITE=bookworm
# shellcheck source=scripts/debian-mirror.sh
source scripts/debian-mirror.sh
DEBIAN_MIRROR="${DEBIAN_MIRROR:-$(debian_mirror debian)}"
DEBIAN_SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-$(debian_mirror debian-security)}"

docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed): start one with scripts/docker-up.sh"
# One build at a time on this engine; a waiting build then finds the image the first one made.
exec 9>/tmp/pgdrill-build-image.lock
flock 9
if [ "$force" = false ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "image $IMAGE present (created $(docker image inspect -f '{{.Created}}' "$IMAGE")); --force rebuilds it"
  exit 0
fi
[ "$(id -u)" -eq 0 ] || die "run as root: debootstrap and chroot need it"
for tool in debootstrap chroot git npm pnpm; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed (scripts/bootstrap.sh installs what this needs)"
done

WORK=$(mktemp -d /tmp/pgdrill-image.XXXXXX)
ROOTFS="$WORK/rootfs"
# debootstrap mounts /proc into the tree while it runs and an interrupted run leaves it mounted:
# unmount whatever is under the tree first; --one-file-system keeps rm inside it regardless.
trap 'findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | xargs -r -d "\n" umount -l 2>/dev/null; rm -rf --one-file-system "$WORK"' EXIT
step() { log "$1 (${SECONDS}s)"; }
run_logged() { # run_logged LOG CMD...: quiet, with the log's tail on failure
  local logfile=$1; shift
  "$@" >"$logfile" 2>&1 || { tail -n 30 "$logfile" >&2; die "failed: $*"; }
}

step "packing pgdrill $VERSION from a copy of $(pwd)"
mkdir "$WORK/src"
git ls-files -z --cached --others --exclude-standard | tar --null --files-from=- --ignore-failed-read -c 2>/dev/null | tar -C "$WORK/src" -x
ln -s "$(pwd)/node_modules" "$WORK/src/node_modules"
(cd "$WORK/src" && run_logged "$WORK/pack.log" sh -c "node scripts/build.ts && pnpm pack --pack-destination '$WORK'")
TARBALL="$WORK/pgdrill-$VERSION.tgz"
[ -f "$TARBALL" ] || die "pnpm pack did not produce $TARBALL"

# Packages this host already downloaded (same file system: hard links, no copies) spare their
# download; debootstrap and apt check each against the archive's checksums and fetch the rest.
mkdir -p "$ROOTFS/var/cache/apt/archives"
find /var/cache/apt/archives -maxdepth 1 -name '*.deb' -exec cp -l -t "$ROOTFS/var/cache/apt/archives" {} + 2>/dev/null || true

step "debootstrap $SUITE from $DEBIAN_MIRROR"
run_logged "$WORK/debootstrap.log" debootstrap --variant=minbase "$SUITE" "$ROOTFS" "$DEBIAN_MIRROR"
# The same sources as Debian's own images: the release, its updates and security updates.
cat >"$ROOTFS/etc/apt/sources.list" <<EOF
deb $DEBIAN_MIRROR $SUITE main
deb $DEBIAN_MIRROR $SUITE-updates main
deb $DEBIAN_SECURITY_MIRROR $SUITE-security main
EOF
cp -L /etc/resolv.conf "$ROOTFS/etc/resolv.conf"

step "installing the Debian packages (scripts/image-rootfs-setup.sh)"
cp scripts/image-rootfs-setup.sh "$ROOTFS/tmp/image-rootfs-setup.sh"
run_logged "$WORK/setup.log" chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  sh /tmp/image-rootfs-setup.sh
rm -f "$ROOTFS/tmp/image-rootfs-setup.sh"

step "installing Node $NODE_VERSION and the package into /usr/local"
npm_flags=(--prefer-offline --no-fund --no-audit)
run_logged "$WORK/npm.log" npm install -g --prefix "$ROOTFS/usr/local" "${npm_flags[@]}" "node@$NODE_VERSION"
# The package with npm $NPM_VERSION on Node $NODE_VERSION, as the Dockerfile does, whatever npm this host has.
run_logged "$WORK/npm.log" npm install --prefix "$WORK/npm" "${npm_flags[@]}" "npm@$NPM_VERSION"
run_logged "$WORK/npm.log" env PATH="$WORK/npm/node_modules/.bin:$ROOTFS/usr/local/bin:$PATH" \
  npm install -g --prefix "$ROOTFS/usr/local" "${npm_flags[@]}" --ignore-scripts "$TARBALL"
in_image() { chroot --userspec=10001:10001 "$ROOTFS" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/pgdrill "$@"; }
built_version=$(in_image pgdrill --version) || die "pgdrill --version failed inside the image's file system"
[ "$built_version" = "$VERSION" ] || die "pgdrill --version says $built_version, expected $VERSION"

# docker run provides resolv.conf and hostname: the host's copies must not ship; nor must
# debootstrap's log.
: >"$ROOTFS/etc/resolv.conf"
rm -f "$ROOTFS/etc/hostname" "$ROOTFS/var/log/bootstrap.log"

changes=()
while IFS= read -r line; do
  case "$line" in *\\) die "Dockerfile: '$line' continues on the next line; keep metadata one instruction per line" ;; esac
  changes+=(-c "$line")
done < <(awk '/^FROM /{ delete meta; n = 0 } /^(ENV|USER|WORKDIR|ENTRYPOINT|CMD|LABEL) /{ meta[++n] = $0 } END { for (i = 1; i <= n; i++) print meta[i] }' Dockerfile)
[ "${#changes[@]}" -gt 0 ] || die "no ENV/USER/ENTRYPOINT lines found in the Dockerfile's final stage"

step "importing as $IMAGE"
replaced=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
tar -C "$ROOTFS" --numeric-owner -c . | docker import "${changes[@]}" - "$IMAGE" >/dev/null
# --force: the image this one replaces would stay behind untagged.
if [ -n "$replaced" ]; then
  docker image rm "$replaced" >/dev/null 2>&1 || log "kept the replaced image $replaced: a container still uses it"
fi
size=$(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }')
log "built $IMAGE ($size) in ${SECONDS}s"
