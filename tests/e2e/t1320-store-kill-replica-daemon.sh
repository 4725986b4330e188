#!/bin/sh
# The replica's daemon killed with SIGKILL again and again while the
# primary makes a stream of commits, and started again each time: no
# commit the primary acknowledged to its writer is lost, the replica
# converges to the primary's head, and both verify and agree.  Prints
# kills, lost commits and the time to converge.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

COMMITS=${COMMITS:-150}
KILLS=${KILLS:-8}
now_ms() { date +%s%3N; }

step "fw1 and fw2 running, in step"
two_nodes
guide_synced fw1 fw2

step "$COMMITS commits on fw1 while fw2's daemon is killed $KILLS times"
# The writers wait for fw2 at most a little: it is down half the time.
( i=0
  while [ $i -lt "$COMMITS" ]; do
	CFGSTORE_WAIT=0.2 "$CFGSTORE" -d "$(dir fw1)" set -m "stream $i" \
	    stream.k$((i % 10)) "v$i" >/dev/null 2>&1
	case $? in
	0|3)	echo "$i" >> "$SCRATCH/acked" ;;
	*)	echo "$i" >> "$SCRATCH/failed" ;;
	esac
	i=$((i + 1))
  done; touch "$SCRATCH/done" ) &
writer=$!
kills=0
while [ ! -e "$SCRATCH/done" ] && [ $kills -lt "$KILLS" ]; do
	sleep 0.$(od -An -N1 -tu1 /dev/urandom | awk '{ printf "%d", $1 % 9 + 1 }')
	stop fw2 KILL
	kills=$((kills + 1))
	start fw2
done
wait $writer
[ ! -e "$SCRATCH/failed" ] || fail "writes failed on fw1: $(cat "$SCRATCH/failed")"
[ "$kills" -gt 0 ] || fail "fw2 was never killed: the test proved nothing"

step "fw2 converges to fw1's head, holds every acknowledged commit, verifies"
t0=$(now_ms)
r=$(head_of fw1)
wait_head fw2 "$r" 30
converge=$(( $(now_ms) - t0 ))
same fw1 fw2
# The last value of each key is the last acknowledged write of it.
lost=0
for k in 0 1 2 3 4 5 6 7 8 9; do
	last=$(awk -v k=$k '$1 % 10 == k { v = $1 } END { print v }' "$SCRATCH/acked")
	[ -z "$last" ] && continue
	[ "$(on fw2 get stream.k$k)" = "v$last" ] || lost=$((lost + 1))
done
n=$(on fw2 log -n 100000 | grep -c "stream [0-9]")
[ "$n" -eq "$COMMITS" ] || lost=$((lost + COMMITS - n))
echo "kills of fw2: $kills; commits: $COMMITS ($(wc -l < "$SCRATCH/acked") acknowledged); lost: $lost; fw2 at r$r ${converge} ms after the stream ended"
[ "$lost" -eq 0 ] || fail "$lost commits lost on fw2"
stop fw1
stop fw2
ok "a replica killed mid-stream catches up with nothing lost"
