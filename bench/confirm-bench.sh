#!/bin/bash
# confirm-bench.sh - what --confirm costs a write, on loopback, on demand:
#
#	bench/confirm-bench.sh [BUILDDIR] [ITERATIONS]
#
#  1. `cfgstore set` on fw1 until fw2's acknowledgement, plain and with
#     --confirm 10m (each confirmed at once, untimed, so one waits);
#  2. `cfgstore confirm` the same way;
#  3. `set --confirm` while ITERATIONS confirmed commits pile up unconfirmed
#     (what waits is read back to the first of them).
#
# Needs bash (EPOCHREALTIME) and python3.
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRCDIR/bench/lib.sh"
BUILDDIR=$(cd "${1:-$SRCDIR/build}" && pwd)
N=${2:-100}
CFGSTORE="$BUILDDIR/cli/cfgstore"
[ -x "$CFGSTORE" ] || { echo "build first: $CFGSTORE" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/cfgstore-bench.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

on() { n=$1; shift; "$CFGSTORE" -d "$W/$n" "$@"; }
start() {
	"$CFGSTORE" -d "$W/$1" serve -f --root "$W/root-$1" \
	    >> "$W/$1.log" 2>&1 &
	pids="$pids $!"
	while [ ! -S "$W/$1/serve.sock" ]; do sleep 0.02; done
}
# timed FILE CMD...: CMD's wall time in ms appended to FILE.
timed() {
	f=$1; shift
	t0=$EPOCHREALTIME
	"$@" > "$W/out" || { cat "$W/out"; exit 1; }
	t1=$EPOCHREALTIME
	awk "BEGIN { print ($t1 - $t0) * 1000 }" >> "$f"
}

echo "== setup: fw1 (primary) and fw2 on loopback, in $W"
p1=$(port); p2=$(port)
on fw1 init --node fw1 --primary --listen "127.0.0.1:$p1" >/dev/null
on fw2 init --node fw2 --listen "127.0.0.1:$p2" >/dev/null
on fw1 peer add fw2 "127.0.0.1:$p2" "$(on fw2 key)"
on fw2 peer add fw1 "127.0.0.1:$p1" "$(on fw1 key)"
start fw1
start fw2
{
	grep -v '^#' "$SRCDIR/tests/golden/guide.apply"
	for s in carp dhcpd nsd ntpd unbound; do
		echo "set service.$s.check true"
		echo "set service.$s.restart true"
	done
} > "$W/guide.apply"
(cd "$SRCDIR/tests/golden" && on fw1 apply "$W/guide.apply") >/dev/null

echo
echo "== 1, 2. set until fw2 acknowledged, plain and --confirm; confirm ($N each)"
: > "$W/plain"; : > "$W/confirmed"; : > "$W/confirm"
for i in $(seq 1 "$N"); do
	timed "$W/plain" on fw1 set bench.value "p$i"
	timed "$W/confirmed" on fw1 set --confirm 10m bench.value "c$i"
	timed "$W/confirm" on fw1 confirm
done
grep -q "^fw2: applied" "$W/out" || { cat "$W/out"; exit 1; }
echo "set:             $(stats < "$W/plain")"
echo "set --confirm:   $(stats < "$W/confirmed")"
echo "confirm:         $(stats < "$W/confirm")"

echo
echo "== 3. set --confirm with 1 to $N confirmed commits waiting"
: > "$W/run"
for i in $(seq 1 "$N"); do
	timed "$W/run" on fw1 set --confirm 10m bench.value "r$i"
done
echo "first 10:        $(head -10 "$W/run" | stats)"
echo "last 10:         $(tail -10 "$W/run" | stats)"
timed "$W/last" on fw1 confirm
echo "confirm of $N:   $(stats < "$W/last")"
