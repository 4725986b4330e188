#!/bin/sh
# test.sh - builds cfgstore and runs every test: once in a plain build,
# once built with AddressSanitizer and UndefinedBehaviorSanitizer.
# Installs missing packages first.  Idempotent: reuses the build folders.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tools/deps.sh"
cfgstore_install_deps

jobs=$(nproc 2>/dev/null || echo 2)
run_suite() {
	dir=$1; shift
	cmake -S "$top" -B "$top/$dir" -DCFGSTORE_WERROR=ON "$@" >/dev/null
	cmake --build "$top/$dir" -j "$jobs" >/dev/null
	(cd "$top/$dir" && ctest --output-on-failure --timeout 900)
}

echo "== plain build (optimised, so -O2 warnings fail it too)"
run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
echo "== AddressSanitizer + UndefinedBehaviorSanitizer build"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite build-asan -DCFGSTORE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
