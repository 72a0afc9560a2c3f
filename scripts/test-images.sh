#!/usr/bin/env bash
# The images the tests and the demo need, made without pulling anything where nothing can be
# pulled (../shared/ENGINE.md, sections 4 and 5):
#
#   registry:2   the registry that docker-compose.test.yml names. Pulled where that works; else a
#                stand-in built under the same name from Debian's docker-registry package (the
#                same program, distribution 2.8, as the official image).
#   base image   a two-platform (linux/amd64 + linux/arm64) busybox that builds can use `FROM`
#                offline. This script prepares its build context from Debian's busybox-static
#                packages for both architectures; `push-base REF` builds and pushes it.
#
# Usage: scripts/test-images.sh [prepare]     registry:2 and the base image's build context
#        scripts/test-images.sh push-base REF build the base image for both platforms, push to REF
#        scripts/test-images.sh base-context   print the base image's build context folder
set -euo pipefail

log() { echo "test-images: $*" >&2; }
die() {
    echo "test-images: $*" >&2
    exit 1
}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
ASSETS=${BUILDCACHE_TEST_ASSETS:-$ROOT/.cache/test-assets}
BASE_CONTEXT=$ASSETS/base

have_apt() { command -v apt-get >/dev/null && [[ -f /etc/debian_version ]]; }

# apt-get download as root leaves files the _apt user cannot write; download into a folder it owns.
apt_download_into() {
    local dir=$1
    shift
    mkdir -p "$dir"
    chown _apt "$dir" 2>/dev/null || true
    (cd "$dir" && apt-get -q "$@" >/dev/null)
}

registry_image() {
    if docker image inspect registry:2 >/dev/null 2>&1; then
        return 0
    fi
    if timeout 60 docker pull -q registry:2 >/dev/null 2>&1; then
        log "pulled registry:2"
        return 0
    fi
    have_apt || die "registry:2 cannot be pulled and this is not Debian, so no stand-in can be built."
    log "registry:2 cannot be pulled; building a stand-in from Debian's docker-registry package"
    local dir=$ASSETS/registry
    rm -rf "$dir" && mkdir -p "$dir/rootfs"
    apt_download_into "$dir/debs" download docker-registry
    dpkg -x "$dir"/debs/docker-registry_*.deb "$dir/pkg"
    mkdir -p "$dir/rootfs/bin" "$dir/rootfs/etc/docker/registry" "$dir/rootfs/var/lib/registry" "$dir/rootfs/tmp"
    cp "$dir/pkg/usr/bin/docker-registry" "$dir/rootfs/bin/registry"
    # The binary needs only the C library; copy exactly what ldd names.
    ldd "$dir/rootfs/bin/registry" | awk '/=>/ {print $3} /^\t\// {print $1}' | while read -r lib; do
        mkdir -p "$dir/rootfs$(dirname "$lib")"
        cp -L "$lib" "$dir/rootfs$lib"
    done
    cat >"$dir/rootfs/etc/docker/registry/config.yml" <<'EOF'
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
EOF
    cat >"$dir/Dockerfile" <<'EOF'
FROM scratch
COPY rootfs/ /
VOLUME /var/lib/registry
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/docker/registry/config.yml"]
EOF
    docker buildx build --quiet --load -t registry:2 "$dir" >/dev/null
    log "built registry:2 from $(basename "$dir"/debs/docker-registry_*.deb)"
}

base_context() {
    if [[ -f "$BASE_CONTEXT/Dockerfile" ]]; then
        return 0
    fi
    rm -rf "$BASE_CONTEXT" && mkdir -p "$BASE_CONTEXT"
    if ! have_apt; then
        # Off Debian the real busybox image can be pulled instead.
        printf 'FROM busybox:1.36\n' >"$BASE_CONTEXT/Dockerfile"
        return 0
    fi
    log "preparing a busybox base for linux/amd64 and linux/arm64 from Debian's busybox-static"
    local lists=$ASSETS/arm64-lists
    mkdir -p "$lists/partial"
    apt_download_into "$ASSETS/debs/amd64" download busybox-static
    apt-get -q -o APT::Architecture=arm64 -o APT::Architectures=arm64 -o Dir::State::Lists="$lists" update >/dev/null
    apt_download_into "$ASSETS/debs/arm64" -o APT::Architecture=arm64 -o APT::Architectures=arm64 \
        -o Dir::State::Lists="$lists" download busybox-static:arm64
    for arch in amd64 arm64; do
        mkdir -p "$BASE_CONTEXT/$arch/root"
        dpkg -x "$ASSETS"/debs/$arch/busybox-static_*.deb "$BASE_CONTEXT/$arch/root"
    done
    cat >"$BASE_CONTEXT/Dockerfile" <<'EOF'
FROM scratch
ARG TARGETARCH
COPY ${TARGETARCH}/root/ /
RUN ["/bin/busybox", "--install", "-s", "/bin"]
EOF
}

push_base() {
    local ref=$1
    base_context
    # A registry that has just started has been seen to answer its first HEAD with a 500
    # (in a first run after the engine was installed): try again before giving up.
    local attempt
    for attempt in 1 2 3; do
        if docker buildx build --quiet --platform linux/amd64,linux/arm64 -t "$ref" --push "$BASE_CONTEXT" >/dev/null; then
            log "pushed the two-platform base image $ref"
            return 0
        fi
        log "pushing $ref failed (attempt $attempt of 3)"
        sleep $((attempt * 2))
    done
    die "could not push the base image to $ref"
}

case "${1:-prepare}" in
prepare)
    registry_image
    base_context
    ;;
push-base)
    [[ -n "${2:-}" ]] || die "usage: $0 push-base REF"
    push_base "$2"
    ;;
base-context)
    base_context
    echo "$BASE_CONTEXT"
    ;;
*) die "unknown command '$1' (prepare, push-base REF, base-context)" ;;
esac
