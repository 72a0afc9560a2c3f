#!/bin/sh
# Installs the example application from the bind-mounted source into $1.
set -eu
mkdir -p "$1"
cp /src/run.sh /src/VERSION "$1/"
echo "installed app $(cat /src/VERSION)"
