#!/bin/bash
# failover-bench.sh - failover figures on loopback, run on demand:
#
#	bench/failover-bench.sh [BUILDDIR] [ITERATIONS]
#
#  1. `cfgstore promote` until every other node has applied the promote
#     (the command's wall time: it waits for their acknowledgements),
#     the role handed round fw1 -> fw2 -> fw3 -> fw1 while all run;
#  2. the same with the old primary SIGKILLed first;
#  3. catch-up of a returning fenced primary: fw1, cut off, made 10
#     commits of its own; fw2 was promoted and made 1,000 more; from
#     fw1's start until it holds fw2's head (its 10 on its diverged
#     branch).
#
# Needs bash (EPOCHREALTIME) and python3.
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRCDIR/bench/lib.sh"
bench_args 10 "$@"
COMMIT_MANY="$BUILDDIR/tests/commit_many"
need "$CFGSTORE" "$COMMIT_MANY"
scratch

echo "== setup: fw1 (primary), fw2, fw3 on loopback, in $W"
nodes fw1 fw2 fw3
guide_file
guide fw1

echo "== 1. promote with every node up, until the others applied it ($N)"
export CFGSTORE_WAIT=10
order=(fw2 fw3 fw1)
: > "$W/t1"
for i in $(seq 1 "$N"); do
	n=${order[$(((i - 1) % 3))]}
	timed on $n promote >> "$W/t1"
	[ "$(grep -c ': applied r' "$W/out")" = 2 ] || { cat "$W/out"; exit 1; }
done
echo "promote, both others applied: $(stats < "$W/t1")"

echo "== 2. promote after the primary was SIGKILLed ($N)"
: > "$W/t2"
prim=fw1
for i in $(seq 1 "$N"); do
	case $prim in fw1) n=fw2 ;; fw2) n=fw3 ;; fw3) n=fw1 ;; esac
	# Make $prim the primary, then kill it.
	on $prim status | grep -q "(primary)" || on $prim promote >/dev/null
	stop $prim KILL
	t0=$EPOCHREALTIME
	on $n promote > "$W/out" 2>&1
	rc=$?
	ms_since "$t0" >> "$W/t2"
	[ $rc = 3 ] && [ "$(grep -c ": applied r" "$W/out")" = 1 ] ||
	    { cat "$W/out"; exit 1; }
	start $prim
	h=$(head_of $n)
	while [ "$(head_of $prim)" != "$h" ]; do sleep 0.05; done
	prim=$n
done
echo "promote, the one node up applied it: $(stats < "$W/t2")"

echo "== 3. a fenced primary returns: 10 commits of its own, 1,000 to take"
on fw1 status | grep -q '(primary)' || on fw1 promote >/dev/null
h=$(head_of fw1)
for n in fw2 fw3; do
	while [ "$(head_of $n)" != "$h" ]; do sleep 0.05; done
done
stop fw2
stop fw3
"$COMMIT_MANY" "$W/fw1" 10 bench.fenced >/dev/null
stop fw1 KILL
start fw2
start fw3
on fw2 promote >/dev/null
"$COMMIT_MANY" "$W/fw2" 1000 >/dev/null
on fw2 set bench.last done > /dev/null
h=$(head_of fw2)
while [ "$(head_of fw3)" != "$h" ]; do sleep 0.05; done
t0=$EPOCHREALTIME
start fw1
while [ "$(head_of fw1)" != "$h" ]; do sleep 0.02; done
echo "fenced fw1 took r$h: $(ms_since "$t0" 1) ms from its start" \
    "($(on fw1 log --diverged | grep -c '^diverged:') commits on its" \
    "diverged branch)"
