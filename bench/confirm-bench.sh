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
bench_args 100 "$@"
need "$CFGSTORE"
scratch

echo "== setup: fw1 (primary) and fw2 on loopback, in $W"
nodes fw1 fw2
guide_file
guide fw1

echo
echo "== 1, 2. set until fw2 acknowledged, plain and --confirm; confirm ($N each)"
: > "$W/plain"; : > "$W/confirmed"; : > "$W/confirm"
for i in $(seq 1 "$N"); do
	timed on fw1 set bench.value "p$i" >> "$W/plain"
	timed on fw1 set --confirm 10m bench.value "c$i" >> "$W/confirmed"
	timed on fw1 confirm >> "$W/confirm"
done
grep -q "^fw2: applied" "$W/out" || { cat "$W/out"; exit 1; }
echo "set:             $(stats < "$W/plain")"
echo "set --confirm:   $(stats < "$W/confirmed")"
echo "confirm:         $(stats < "$W/confirm")"

echo
echo "== 3. set --confirm with 1 to $N confirmed commits waiting"
: > "$W/run"
for i in $(seq 1 "$N"); do
	timed on fw1 set --confirm 10m bench.value "r$i" >> "$W/run"
done
echo "first 10:        $(head -10 "$W/run" | stats)"
echo "last 10:         $(tail -10 "$W/run" | stats)"
timed on fw1 confirm >> "$W/last"
echo "confirm of $N:   $(stats < "$W/last")"
