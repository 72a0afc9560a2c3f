#!/usr/bin/env bash
# A second Docker daemon on this machine, for tests that need two runners sharing nothing but the
# registries (../shared/ENGINE.md, section 7), or an engine without the containerd image store.
#
#   scripts/second-daemon.sh start NAME [--classic-store]   prints its DOCKER_HOST
#   scripts/second-daemon.sh stop NAME [--purge]            --purge also removes its data root
#
# It has its own data root, exec root, socket, pid file, containerd namespace and bridge (RUN
# steps need a bridge: with --bridge=none they fail with "network bridge not found"), all under
# /tmp/buildcache-daemons/NAME. With --classic-store it runs without the containerd image store, as
# a plain Docker install does, so its docker driver cannot export a registry cache. Needs root.
#
# It is the "fresh runner" of the tests, the demo and the benchmark: an engine with no build cache
# and no images, thrown away after (stop --purge). Nothing here touches the machine's own daemon,
# its images or its build cache.
set -euo pipefail

die() {
    echo "second-daemon: $*" >&2
    exit 1
}

command=${1:-}
name=${2:-}
[[ -n "$command" && -n "$name" ]] || die "usage: $0 start|stop NAME [--classic-store]"
[[ "$name" =~ ^[a-z0-9]{1,8}$ ]] || die "NAME must be 1-8 lowercase letters or digits (it names a network bridge)"
[[ $(id -u) == 0 ]] || die "starting a Docker daemon needs root"
root=/tmp/buildcache-daemons/$name
bridge=bc$name

stop() {
    if [[ -f "$root/docker.pid" ]]; then
        local pid
        pid=$(cat "$root/docker.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$root/docker.pid"
    fi
    ip link del "$bridge" 2>/dev/null || true
}

purge() {
    # what the daemon left mounted under its root (overlay snapshots) goes first
    if [[ -d "$root" ]]; then
        { grep -o " $root/[^ ]*" /proc/mounts || true; } | sort -r | while read -r mount; do
            umount -l "$mount" 2>/dev/null || true
        done
        rm -rf "$root"
    fi
}

case "$command" in
start)
    stop
    mkdir -p "$root"
    # a /24 of its own in 172.31.0.0/16, from the name, so two daemons never share one
    octet=$(($(printf '%s' "$name" | cksum | cut -d' ' -f1) % 200 + 20))
    ip link add "$bridge" type bridge
    ip addr add "172.31.$octet.1/24" dev "$bridge"
    ip link set "$bridge" up
    if [[ "${3:-}" == "--classic-store" ]]; then
        echo '{}' >"$root/daemon.json"
    else
        echo '{"features": {"containerd-snapshotter": true}}' >"$root/daemon.json"
    fi
    setsid dockerd --config-file "$root/daemon.json" --data-root "$root/data" --exec-root "$root/exec" \
        -H "unix://$root/docker.sock" --pidfile "$root/docker.pid" --bridge="$bridge" --iptables=false \
        --containerd-namespace "moby-$name" --containerd-plugins-namespace "plugins-moby-$name" \
        >"$root/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 100); do
        if DOCKER_HOST="unix://$root/docker.sock" docker info >/dev/null 2>&1; then
            echo "unix://$root/docker.sock"
            exit 0
        fi
        sleep 0.2
    done
    tail -n 20 "$root/dockerd.log" >&2 || true
    stop
    die "the daemon '$name' did not answer within 20 s (log: $root/dockerd.log)"
    ;;
stop)
    stop
    if [[ "${3:-}" == "--purge" ]]; then purge; fi
    ;;
*) die "unknown command '$command' (start, stop)" ;;
esac
