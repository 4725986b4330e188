#!/bin/bash
# prepare-bench.sh - what asking the peers to check a write costs, run on
# demand:
#
#	bench/prepare-bench.sh [BUILDDIR] [ITERATIONS]
#
# fw1 (primary) and fw2 on loopback, both daemons running, the guide's
# values, OpenNTPD's real checker (`ntpd -n`), restarts that do nothing.
# Wall time of `set --no-wait` (the checks and the commit, not the
# render that follows), median of N:
#  1. a key no file reads: no checker runs, no peer is asked;
#  2. ntpd.conf of fw1 only: fw1 checks it; fw2 is asked and finds
#     nothing of its own to check;
#  3. ntpd.conf on both hosts: fw1 checks both, then fw2 checks its own;
#  4. the same with --force: nobody checks, nobody is asked.
# Then what fw2 took per verdict, from its log.
# Needs bash (EPOCHREALTIME) and openntpd's ntpd.
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRCDIR/bench/lib.sh"
BUILDDIR=$(cd "${1:-$SRCDIR/build}" && pwd)
N=${2:-50}
CFGSTORE="$BUILDDIR/cli/cfgstore"
[ -x "$CFGSTORE" ] || { echo "build first: $CFGSTORE" >&2; exit 2; }
PATH="$PATH:/usr/sbin:/sbin"
command -v ntpd >/dev/null || { echo "no ntpd (openntpd) here" >&2; exit 2; }
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
	"$CFGSTORE" -d "$W/$1" serve -f -v --root "$W/root-$1" \
	    >> "$W/$1.log" 2>&1 &
	pids="$pids $!"
	while [ ! -S "$W/$1/serve.sock" ]; do sleep 0.02; done
}
# timed CMD...: the wall time of CMD in ms, on stdout; 0 only.
timed() {
	local t0=$EPOCHREALTIME
	"$@" > "$W/out" 2>&1 || { echo "failed ($?): $*" >&2; cat "$W/out" >&2;
	    exit 1; }
	awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'
}

p1=$(port); p2=$(port)
on fw1 init --node fw1 --primary --listen "127.0.0.1:$p1" >/dev/null
on fw2 init --node fw2 --listen "127.0.0.1:$p2" >/dev/null
on fw1 peer add fw2 "127.0.0.1:$p2" "$(on fw2 key)"
on fw2 peer add fw1 "127.0.0.1:$p1" "$(on fw1 key)"
start fw1
start fw2
{
	grep -v '^#' "$SRCDIR/tests/golden/guide.apply"
	for s in carp dhcpd nsd unbound; do
		echo "set service.$s.check true"
	done
	echo "set service.ntpd.check \"ntpd -n -f {}\""
	for s in carp dhcpd nsd ntpd unbound; do
		echo "set service.$s.restart true"
	done
} > "$W/guide.apply"
(cd "$SRCDIR/tests/golden" && on fw1 apply --force "$W/guide.apply") \
    >/dev/null

echo "== $N writes each, fw1 and fw2 both running, set --no-wait"
printf "key no file reads (nobody asked):       "
for i in $(seq "$N"); do
	timed on fw1 set --no-wait site.note "n$i"
done | stats; echo
printf "fw1's ntpd.conf only (fw2 finds none):  "
for i in $(seq "$N"); do
	timed on fw1 set --no-wait ntpd.listen "10.0.1.$((i % 250 + 1))"
done | stats; echo
printf "ntpd.conf on both (fw2 checks its own): "
for i in $(seq "$N"); do
	timed on fw1 set --no-wait ntpd.servers "$((i % 4)).pool.ntp.org" \
	    "s$i.pool.ntp.org"
done | stats; echo
printf "the same with --force (nobody checks):  "
for i in $(seq "$N"); do
	timed on fw1 set --force --no-wait ntpd.servers \
	    "$((i % 4)).pool.ntp.org" "f$i.pool.ntp.org"
done | stats; echo
echo "fw2, per verdict (log):"
sed -n 's/.*prepare [0-9]* on r[0-9]*: yes, 0 checks, \([0-9]*\) ms$/\1/p' \
    "$W/fw2.log" | stats | sed 's/^/  nothing to check: /'; echo
sed -n 's/.*prepare [0-9]* on r[0-9]*: yes, [1-9][0-9]* checks, \([0-9]*\) ms$/\1/p' \
    "$W/fw2.log" | stats | sed 's/^/  ntpd -n on its own: /'; echo
