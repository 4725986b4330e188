#!/bin/sh
# fuzz.sh [SECONDS [HARNESS...]] - builds the fuzz harnesses (tests/fuzz)
# with clang, libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer
# in build-fuzz/, and runs each for SECONDS (default 60), one after
# another, on one core.  Each starts from its seed corpus
# (tests/fuzz/corpus/NAME, only read) and what earlier runs found
# (build-fuzz/findings/NAME, where new inputs go); a crash is saved as
# build-fuzz/findings/NAME-crash-*.  At the end, one line per harness:
# executions, corpus size, crash or not.
#
# A finding worth keeping is minimised and copied into the seed corpus
# with its fix (see tests/fuzz/fuzz.h): then ctest replays it for good.
# Installs clang if it is missing (as root).  Long runs belong here, not
# in the test suite, which only replays the corpus.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift

if ! command -v clang >/dev/null 2>&1; then
	if [ "$(id -u)" != 0 ]; then
		echo "fuzz.sh: clang is missing (run as root to install it)" >&2
		exit 1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends clang >/dev/null
fi

build="$top/build-fuzz"
CC=clang cmake -S "$top" -B "$build" -DCFGSTORE_FUZZ=ON \
    -DCFGSTORE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j 2 >/dev/null

if [ $# -eq 0 ]; then
	set -- $(cd "$top/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
fi
findings="$build/findings"
mkdir -p "$findings"
# The harnesses that make stores put them on a tmpfs when there is one,
# under one directory removed at the end: a harness that crashes or
# times out never runs its own clean-up.
base=${TMPDIR:-/tmp}
[ -d /dev/shm ] && [ -z "${TMPDIR:-}" ] && base=/dev/shm
TMPDIR=$(mktemp -d "$base/cfgstore-fuzz-run.XXXXXX")
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
SRCDIR=$top
export SRCDIR
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$top/tests/fuzz/ubsan.supp}
export ASAN_OPTIONS UBSAN_OPTIONS

summary=""
status=0
for h in "$@"; do
	mkdir -p "$findings/$h"
	log="$findings/$h.log"
	echo "== $h: $secs s"
	rc=0
	# Artifacts of earlier runs stay for reference; this run's count.
	stamp="$TMPDIR/$h.start"
	: > "$stamp"
	(cd "$findings" && "$build/tests/$h" -max_total_time="$secs" \
	    -jobs=1 -workers=1 -print_final_stats=1 -timeout=10 \
	    -rss_limit_mb=2048 -artifact_prefix="$findings/$h-" \
	    "$findings/$h" "$top/tests/fuzz/corpus/$h") >"$log" 2>&1 || rc=$?
	# With -jobs, libFuzzer writes the run itself to fuzz-0.log.
	[ -f "$findings/fuzz-0.log" ] && mv "$findings/fuzz-0.log" "$log"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
	    tail -1)
	files=$(ls "$findings/$h" | wc -l)
	crash=$(find "$findings" -maxdepth 1 -name "$h-*" -newer "$stamp" |
	    wc -l)
	line="$h: ${execs:-?} executions, $files new inputs, $crash crashes"
	[ "$rc" = 0 ] || { line="$line (exit $rc, see $log)"; status=1; }
	echo "$line"
	summary="$summary$line
"
done
echo "== summary"
printf '%s' "$summary"
exit $status
