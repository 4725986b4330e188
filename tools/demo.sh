#!/bin/sh
# demo.sh - the live two-node demo: fw1 and fw2 daemons on loopback in a
# temporary directory; a commit on fw1 shows up rendered on fw2 with fw2's
# own overrides, then a rollback does the same.  Installs missing
# packages and builds first; cleans up after itself; can be run again.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/deps.sh"
cfgstore_install_deps
cmake -S "$top" -B "$top/build" >/dev/null
cmake --build "$top/build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
exec sh "$top/tests/demo.sh" "$top/build"
