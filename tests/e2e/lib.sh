# lib.sh - sourced by every end-to-end test script (tNNNN-area-what.sh).
#
# Gives each script a scratch directory of its own, removed at exit, the
# built binaries on PATH, and a few assertions.  A script is a list of
# `step NAME` blocks; any failed assertion ends it with status 1.

set -u
: "${BUILDDIR:?BUILDDIR must name the build directory}"
: "${SRCDIR:?SRCDIR must name the source directory}"
PATH="$BUILDDIR/cli:$BUILDDIR/render:$BUILDDIR/tests:$PATH"
export PATH
CFGSTORE="$BUILDDIR/cli/cfgstore"
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cfgstore-test.XXXXXX")
export CFGSTORE_DIR="$SCRATCH/store"
LC_ALL=C
export LC_ALL
test_pids=""

cleanup() {
	for p in $test_pids; do kill "$p" 2>/dev/null; done
	for p in $test_pids; do wait "$p" 2>/dev/null; done
	[ -n "${CFGSTORE_KEEP:-}" ] && echo "kept $SCRATCH" || rm -rf "$SCRATCH"
}
trap cleanup EXIT

failures=0
step() { echo "# $*"; }
fail() { echo "not ok: $*"; exit 1; }
ok() { echo "ok: $*"; }

# expect STATUS CMD... : runs CMD, output in $SCRATCH/out and $SCRATCH/err,
# and fails unless it exits with STATUS.
expect() {
	want=$1; shift
	"$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	got=$?
	if [ "$got" != "$want" ]; then
		echo "command: $*"; echo "stdout:"; cat "$SCRATCH/out"
		echo "stderr:"; cat "$SCRATCH/err"
		fail "exit status $got, expected $want"
	fi
}

# The output of the last expect.
out() { cat "$SCRATCH/out"; }
err() { cat "$SCRATCH/err"; }

# assert_out TEXT: stdout of the last expect equals TEXT exactly.
assert_out() {
	printf '%s\n' "$1" > "$SCRATCH/want"
	cmp -s "$SCRATCH/out" "$SCRATCH/want" || {
		diff -u "$SCRATCH/want" "$SCRATCH/out"; fail "stdout differs"; }
}

# assert_err_line PATTERN: stderr is one line, starts "cfgstore: ",
# and matches the extended regex PATTERN.
assert_err_line() {
	[ "$(wc -l < "$SCRATCH/err")" -eq 1 ] || { err; fail "stderr is not one line"; }
	grep -q '^cfgstore: ' "$SCRATCH/err" || { err; fail "stderr lacks 'cfgstore: '"; }
	grep -Eq -- "$1" "$SCRATCH/err" || { err; fail "stderr does not match /$1/"; }
}

assert_grep() { grep -Eq -- "$1" "$2" || { cat "$2"; fail "no /$1/ in $2"; }; }
assert_no_grep() { ! grep -Eq -- "$1" "$2" || { cat "$2"; fail "/$1/ found in $2"; }; }
assert_eq() { [ "$1" = "$2" ] || fail "${3:-values differ}: got [$1], want [$2]"; }

# A fingerprint of a store's replicated content: export plus history.
store_fingerprint() {
	"$CFGSTORE" -d "$1" export && "$CFGSTORE" -d "$1" log
}

# free_port: a TCP port on loopback nobody listens on now.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_secs SECONDS CMD...: retries CMD for up to SECONDS.
wait_secs() {
	i=0; ws_max=$(($1 * 20)); shift
	while ! "$@" >/dev/null 2>&1; do
		i=$((i + 1)); [ $i -lt $ws_max ] || return 1; sleep 0.05
	done
}

# wait_for CMD...: retries CMD for up to 10 s.
wait_for() { wait_secs 10 "$@"; }
