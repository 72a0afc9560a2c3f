#!/usr/bin/env bash
# Run one command on a fresh runner: an engine with no build cache and no images, made for the
# command and removed after it, as a new CI runner would be.
#
#   scripts/fresh-runner.sh COMMAND [ARG...]
#
# As root (these Debian machines, CI) it is a throwaway Docker daemon (scripts/second-daemon.sh
# start fresh; DOCKER_HOST points the command at it; stop --purge removes its data root). The
# machine's own daemon, its images and its build cache are never touched: nothing here prunes.
# Without root no second daemon can be started; the command then runs on the engine as it is, and
# this says so (its build cache is kept, so the run is not a cold one).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[[ $# -gt 0 ]] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }

if [[ $(id -u) != 0 ]]; then
    echo "fresh-runner: not root, so no throwaway daemon: running on this engine, whose build cache is kept" >&2
    exec "$@"
fi
name="fresh$$"
name=${name:0:8}
host=$("$here/second-daemon.sh" start "$name")
trap '"$here/second-daemon.sh" stop "$name" --purge' EXIT
echo "fresh-runner: a throwaway daemon at $host (removed afterwards)" >&2
DOCKER_HOST="$host" "$@"
