#!/bin/sh
# Stands in for a slow dependency install (apt-get, pip install, a model download):
# writes a dependency "set" and takes the given number of seconds, like a real one would.
set -eu
set_name=$1
seconds=${2:-2}
mkdir -p /opt/deps/installed
case "$set_name" in
common) packages="libssl libffi zlib" ;;
slim) packages="runtime-core" ;;
full) packages="runtime-core compilers numerics docs" ;;
*) echo "unknown dependency set: $set_name" >&2; exit 1 ;;
esac
for p in $packages; do
    # a few hundred kB per package, so layers have a real size in the registry
    head -c 262144 /dev/urandom > "/opt/deps/installed/$p"
done
sleep "$seconds"
echo "installed $set_name: $packages"
