#!/usr/bin/env bash
# Make sure a Docker engine that buildcache can build with is running.
#
# What "working" means: `docker info` answers (a daemon), `docker buildx version` and
# `docker compose version` answer (the plugins), the builder in use can export a registry cache
# (a docker-container/remote builder, or the docker driver on the containerd image store) and
# can build linux/amd64 and linux/arm64 (native or QEMU binfmt).
#
# Where that already holds (a laptop with Docker Desktop, a GitHub runner, a second run of this
# script) it only reports it and changes nothing. Otherwise, on Debian as root, it does what
# ../shared/ENGINE.md describes:
#   - packages: runc, tini, iptables, qemu-user-static, binfmt-support from the machine's own
#     Debian suite; docker.io (Engine 26), containerd, docker-cli, docker-buildx and
#     docker-compose (v2) from Debian trixie, fetched through a private apt list folder so the
#     machine's own sources stay untouched;
#   - /etc/docker/daemon.json with the containerd image store turned on;
#   - the daemon: `setsid dockerd` in the background, log in /var/log/dockerd.log;
#   - QEMU: the binfmt_misc file system mounted and the qemu handlers enabled.
# Anywhere else it exits 1 with a sentence that says what is missing.
set -euo pipefail

log() { echo "engine: $*" >&2; }
die() {
    echo "engine: $*" >&2
    exit 1
}

WORK=${BUILDCACHE_ENGINE_WORK:-/var/cache/buildcache-engine}
DOCKERD_LOG=/var/log/dockerd.log

have_daemon() { docker info >/dev/null 2>&1; }
have_plugins() { docker buildx version >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; }

can_export_cache() {
    local driver
    driver=$(docker buildx inspect 2>/dev/null | awk '/^Driver:/ {print $2; exit}')
    if [[ "$driver" != "docker" ]]; then
        [[ -n "$driver" ]]
        return
    fi
    # The plain docker driver exports a registry cache only on the containerd image store.
    docker info --format '{{json .DriverStatus}}' 2>/dev/null | grep -q 'io.containerd.snapshotter'
}

can_build_arm64() {
    docker buildx inspect --bootstrap 2>/dev/null | grep '^Platforms:' | grep -q 'linux/arm64'
}

engine_works() { have_daemon && have_plugins && can_export_cache && can_build_arm64; }

report() {
    local driver
    driver=$(docker buildx inspect 2>/dev/null | awk '/^Driver:/ {print $2; exit}')
    log "ready: docker $(docker version --format '{{.Server.Version}}'), $(docker buildx version | awk '{print $1, $2}'), compose $(docker compose version --short), builder driver '$driver', platforms: $(docker buildx inspect | awk -F': *' '/^Platforms:/ {print $2; exit}')"
}

# The Debian mirror the machine's own apt sources use for its own suite (never hard-coded).
debian_mirror() {
    local suite=$1 f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f "$f" ]] || continue
        # deb822: a stanza with "Suites: <suite> ..." and "URIs: <mirror>"
        awk -v suite="$suite" '
            BEGIN { RS=""; FS="\n" }
            {
                uri=""; ok=0
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); uri=a[2] }
                    if ($i ~ /^Suites:/) { n=split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok=1 }
                }
                if (ok && uri != "") { print uri; exit }
            }' "$f"
    done | head -n1 | grep . && return 0
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f "$f" ]] || continue
        awk -v suite="$suite" '$1 == "deb" {
            for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { uri=$i; s=$(i+1); break }
            if (s == suite) { print uri; exit }
        }' "$f"
    done | head -n1 | grep .
}

# apt-get with a private source list for Debian trixie, leaving the machine's sources alone.
apt_trixie() {
    local mirror=$1
    shift
    mkdir -p "$WORK/trixie/lists/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$WORK/trixie/sources.list"
    apt-get -q -o Dir::Etc::SourceList="$WORK/trixie/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::Lists="$WORK/trixie/lists" "$@"
}

install_packages() {
    local codename mirror
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    mirror=$(debian_mirror "$codename") || die "found no Debian mirror for '$codename' in /etc/apt/sources.list*; set up apt first."
    log "installing runc, tini, iptables, qemu-user-static, binfmt-support from $codename"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -q update >/dev/null
    apt-get -q install -y runc tini iptables qemu-user-static binfmt-support >/dev/null
    log "installing Docker Engine 26, containerd, buildx and compose v2 from Debian trixie ($mirror)"
    apt_trixie "$mirror" update >/dev/null
    rm -rf "$WORK/debs" && mkdir -p "$WORK/debs"
    chmod 755 "$WORK" "$WORK/debs" && chown _apt "$WORK/debs" 2>/dev/null || true
    (cd "$WORK/debs" && apt_trixie "$mirror" download docker.io containerd docker-cli docker-buildx docker-compose >/dev/null)
    dpkg -i --force-confold "$WORK"/debs/*.deb >/dev/null
}

configure_daemon() {
    mkdir -p /etc/docker
    python3 - <<'EOF'
import json, pathlib
path = pathlib.Path("/etc/docker/daemon.json")
config = json.loads(path.read_text() or "{}") if path.exists() else {}
if config.get("features", {}).get("containerd-snapshotter") is not True:
    config.setdefault("features", {})["containerd-snapshotter"] = True
    path.write_text(json.dumps(config, indent=2) + "\n")
    print("engine: turned on the containerd image store in /etc/docker/daemon.json")
EOF
}

start_daemon() {
    log "starting dockerd (log: $DOCKERD_LOG)"
    setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
        have_daemon && return 0
        sleep 0.5
    done
    tail -n 20 "$DOCKERD_LOG" >&2 || true
    die "dockerd did not answer within 30 s; its log is $DOCKERD_LOG."
}

enable_qemu() {
    if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null ||
            die "cannot mount binfmt_misc, so linux/arm64 cannot be emulated here."
    fi
    if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
        log "registering the QEMU binfmt handlers"
        update-binfmts --enable >/dev/null 2>&1 || true
    fi
    [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] ||
        die "the QEMU handler for arm64 is not registered (/proc/sys/fs/binfmt_misc/qemu-aarch64); try 'update-binfmts --enable qemu-aarch64'."
}

main() {
    if engine_works; then
        report
        return 0
    fi
    command -v docker >/dev/null || [[ $(id -u) == 0 ]] ||
        die "no docker client found; install Docker (https://docs.docker.com/engine/install/) and run this again."
    if have_daemon && have_plugins && [[ $(id -u) != 0 || ! -f /etc/debian_version ]]; then
        can_export_cache || die "the builder in use cannot export a registry cache (docker driver without the containerd image store); run 'docker buildx create --use' or turn on the containerd image store."
        die "the builder in use cannot build linux/arm64; register QEMU with 'docker run --privileged --rm tonistiigi/binfmt --install arm64'."
    fi
    [[ -f /etc/debian_version ]] || die "no working Docker engine with buildx here, and this is not Debian, so it cannot be installed by this script; install Docker Engine with buildx and compose v2."
    [[ $(id -u) == 0 ]] || die "no working Docker engine with buildx here; installing one needs root (run 'sudo $0')."

    if ! command -v dockerd >/dev/null || ! have_plugins || [[ ! -x /usr/bin/qemu-aarch64-static ]]; then
        install_packages
    fi
    enable_qemu
    if have_daemon && ! can_export_cache; then
        # A daemon we did not configure: turn on the containerd store only if we may restart it.
        die "dockerd runs without the containerd image store; add {\"features\": {\"containerd-snapshotter\": true}} to /etc/docker/daemon.json and restart it."
    fi
    configure_daemon
    have_daemon || start_daemon
    engine_works || die "the engine started but still cannot export a registry cache or build linux/arm64; see $DOCKERD_LOG."
    report
}

main "$@"
