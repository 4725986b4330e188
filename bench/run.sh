#!/bin/sh
# run.sh - builds the benchmarks and prints their figures.  On demand only:
# timing targets are checked here, never in the tests.
#	sh bench/run.sh [store|render|repl|check|confirm|prepare|failover|loop ...]
#	(default: all eight)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/deps.sh"
cfgstore_install_deps
b="$top/build-bench"
cmake -S "$top" -B "$b" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$b" -j "$(nproc)" --target bench >/dev/null
scratch=$(mktemp -d "${TMPDIR:-/tmp}/cfgstore-bench.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

for part in ${*:-store render repl check confirm prepare failover loop}; do
	echo "== $part"
	case $part in
	store)	"$b/bench/bench_store" "$b/cli/cfgstore" "$b/bench/bench_trivial" ;;
	render)	"$b/bench/bench_render" "$b/cli/cfgstore" "$b/bench/bench_trivial" \
		    "$top/tests/golden" "$scratch/render" ;;
	repl)	bash "$top/bench/repl-bench.sh" "$b" ;;
	check)	bash "$top/bench/check-bench.sh" "$b" ;;
	confirm) bash "$top/bench/confirm-bench.sh" "$b" ;;
	prepare) bash "$top/bench/prepare-bench.sh" "$b" ;;
	failover) bash "$top/bench/failover-bench.sh" "$b" ;;
	loop)	bash "$top/bench/loop-bench.sh" "$b" ;;
	*)	echo "unknown part '$part' (store, render, repl, check," \
		    "confirm, prepare, failover, loop)" >&2; exit 2 ;;
	esac
done
