#!/bin/sh
# render.sh - the renderer's figures (bench/render_bench.c).  On demand,
# never in the tests.  Usage: bench/render.sh [BUILD_DIR]
# Builds BUILD_DIR (default build-bench, Release) unless it has cfgstore.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-$top/build-bench}
if [ ! -x "$b/cli/cfgstore" ]; then
	cmake -S "$top" -B "$b" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$b" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
fi
cmake --build "$b" --target cfgrender cfgstore >/dev/null

scratch=$(mktemp -d "${TMPDIR:-/tmp}/cfgstore-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# The libraries as built, in link order, and what they need.
libs="$b/render/libcfgrender.a $b/templates/libcfgtemplates.a
$b/store/libcfgstore_store.a $b/libcfgcommon.a"
cc -O2 -o "$scratch/render_bench" "$top/bench/render_bench.c" \
    -I"$top/render" -I"$top/store" -I"$top/common" $libs \
    $(pkg-config --cflags --libs lmdb libsodium msgpack) -lpthread
printf 'int main(void) { return 0; }\n' > "$scratch/trivial.c"
cc -O2 -o "$scratch/trivial" "$scratch/trivial.c"
"$scratch/render_bench" "$b/cli/cfgstore" "$scratch/trivial" \
    "$top/tests/golden" "$scratch/run"
