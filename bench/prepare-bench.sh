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
bench_args 50 "$@"
need "$CFGSTORE"
need_ntpd
scratch
# fw2's verdicts are read from its log.
SERVE_FLAGS="-f -v"

nodes fw1 fw2
guide_file "ntpd -n -f {}"
guide fw1 --force

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
