#!/usr/bin/env bash
# Builds the container images of every core system (arrowhead/<system>:latest and :<version>)
# and arrowhead/mariadb, from the release binaries, and the certificates the compose file uses
# (docker/certificates, cloud localcloud.operator, every compose service name as a SAN) when
# absent. The Dockerfiles start FROM debian:bookworm-slim; on a machine without a registry (no
# image can be pulled) that base is made here from Debian packages with debootstrap, from the
# mirror the machine's apt sources name, and tagged with that name. Downloads from nowhere else.
#
# Settings: ARROWHEAD_CERT_PASSWORD (123456), ARROWHEAD_DOCKER_CERTS (docker/certificates).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PASSWORD="${ARROWHEAD_CERT_PASSWORD:-123456}"
CERTS="${ARROWHEAD_DOCKER_CERTS:-$ROOT/docker/certificates}"
SYSTEMS=(serviceregistry authorization orchestrator eventhandler certificate-authority onboarding deviceregistry systemregistry gatekeeper gateway)
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)

ensure_packages
ensure_cargo
command -v docker >/dev/null || die "docker is not installed"
docker info >/dev/null 2>&1 || die "the Docker engine is not running"
cd "$ROOT"

# The mirror of the machine's apt sources (deb822 or one-line format).
apt_mirror() {
  { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' || true
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{print $2}' || true; } \
    | grep -v security | head -1 || true
}

if ! docker image inspect debian:bookworm-slim >/dev/null 2>&1; then
  mirror=$(apt_mirror)
  [ -n "$mirror" ] || die "no Debian mirror in the apt sources"
  log "making the base image debian:bookworm-slim with debootstrap from $mirror"
  if ! command -v debootstrap >/dev/null; then
    [ "$(id -u)" -eq 0 ] || die "debootstrap is missing; run: sudo apt-get install -y debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  rootfs=$(mktemp -d "${TMPDIR:-/tmp}/arrowhead-rootfs.XXXXXX")
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$STATE_DIR/debootstrap.log" 2>&1 \
    || { tail -20 "$STATE_DIR/debootstrap.log" >&2; die "debootstrap failed"; }
  # What slim images leave out: package caches and lists, documentation, locales.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/var/log/*
  # The machine's own apt sources (updates and security included, as in the official image),
  # not only the release debootstrap wrote.
  if ls /etc/apt/sources.list.d/*.sources >/dev/null 2>&1; then
    rm -f "$rootfs/etc/apt/sources.list"
    cp /etc/apt/sources.list.d/*.sources "$rootfs/etc/apt/sources.list.d/"
  elif [ -f /etc/apt/sources.list ]; then
    cp /etc/apt/sources.list "$rootfs/etc/apt/sources.list"
  fi
  # As the official slim images: apt keeps no package files or caches in image layers.
  cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - debian:bookworm-slim >/dev/null
  rm -rf "$rootfs"
fi

log "building the release binaries"
cargo build --release $(for s in "${SYSTEMS[@]}"; do printf -- '--bin %s ' "$s"; done) --bin arrowhead-certgen

if [ ! -f "$CERTS/sysop.p12" ]; then
  log "certificates for the compose services in $CERTS"
  host_args=(--host host.docker.internal)
  for s in "${SYSTEMS[@]}"; do host_args+=(--host "$s"); done
  "$ROOT/target/release/arrowhead-certgen" --out "$CERTS" --cloud localcloud --operator operator \
    --password "$PASSWORD" "${host_args[@]}" >/dev/null
fi
# The containers run as an unprivileged user, which must read the keystores it is given.
chmod -R a+rX "$CERTS"

context="$STATE_DIR/docker-context"
rm -rf "$context" && mkdir -p "$context"
for s in "${SYSTEMS[@]}"; do cp "$ROOT/target/release/$s" "$context/"; done
for s in "${SYSTEMS[@]}"; do
  log "image arrowhead/$s"
  docker build -q -f "$ROOT/docker/Dockerfile" --build-arg "SYSTEM=$s" \
    -t "arrowhead/$s:latest" -t "arrowhead/$s:$VERSION" "$context" >/dev/null
done
log "images arrowhead/mariadb and arrowhead/haproxy"
docker build -q -t arrowhead/mariadb:latest "$ROOT/docker/mariadb" >/dev/null
docker build -q -t arrowhead/haproxy:latest "$ROOT/docker/haproxy" >/dev/null
rm -rf "$context"
docker images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^arrowhead/.*:latest|^debian:bookworm-slim' | sort
