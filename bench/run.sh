#!/bin/sh
# run.sh - builds the benchmarks and prints their figures.  On demand only:
# timing targets are checked here, never in the tests.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/deps.sh"
cfgstore_install_deps
b="$top/build-bench"
cmake -S "$top" -B "$b" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$b" -j "$(nproc)" --target bench >/dev/null
echo "== store"
"$b/bench/bench_store" "$b/cli/cfgstore" "$b/bench/bench_trivial"
for extra in "$top"/bench/run-*.sh; do
	[ -e "$extra" ] || continue
	echo "== $(basename "$extra" .sh | sed 's/^run-//')"
	sh "$extra" "$b"
done
