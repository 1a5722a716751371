# pgdrill for CI runners and Kubernetes CronJobs: Debian bookworm, Node 24, PostgreSQL 15 client
# and server binaries (the embedded sandbox runs initdb/pg_ctl), Chromium and fonts for the PDF.
#
#   pnpm build && pnpm pack            # pgdrill-<version>.tgz in this folder
#   docker build -t pgdrill:<version> .
#   docker run --rm pgdrill:<version> demo
#
# scripts/build-image.sh builds the same image where no container registry is reachable
# (debootstrap + docker import). Both run scripts/image-rootfs-setup.sh for the packages, user and
# folders, and build-image.sh takes the image metadata (ENV, USER, WORKDIR, ENTRYPOINT, CMD, LABEL)
# from the final stage below: keep those one instruction per line, without build variables.

ARG DEBIAN_IMAGE=debian:bookworm-slim

# Node 24 and the package under /usr/local, installed the way build-image.sh installs them: Node
# from the npm registry's `node` package, the package (one pgdrill-*.tgz here) with npm 11 on that
# Node. Debian's own nodejs/npm (18/9) only fetch them, in this stage.
FROM ${DEBIAN_IMAGE} AS node
ARG NODE_VERSION=24
ARG NPM_VERSION=11
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm ca-certificates >/dev/null
RUN npm install -g --prefix /opt/usr-local --no-fund --no-audit "node@${NODE_VERSION}" \
 && npm install --prefix /opt/npm --no-fund --no-audit "npm@${NPM_VERSION}"
ENV PATH=/opt/npm/node_modules/.bin:/opt/usr-local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY pgdrill-*.tgz /tmp/
RUN npm install -g --prefix /opt/usr-local --no-fund --no-audit --ignore-scripts /tmp/pgdrill-*.tgz

FROM ${DEBIAN_IMAGE}
COPY scripts/image-rootfs-setup.sh /tmp/image-rootfs-setup.sh
RUN sh /tmp/image-rootfs-setup.sh && rm /tmp/image-rootfs-setup.sh
COPY --from=node /opt/usr-local/ /usr/local/
RUN pgdrill --version

LABEL org.opencontainers.image.title="pgdrill"
LABEL org.opencontainers.image.description="PostgreSQL backups and restore drills with PDF reports"
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
ENV LANG=C.UTF-8
ENV HOME=/home/pgdrill
ENV PUPPETEER_EXECUTABLE_PATH=/usr/bin/chromium
ENV PGDRILL_SANDBOX=embedded
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["pgdrill"]
CMD ["--help"]
