#!/bin/sh
# A stream of commits on the primary, set and apply alternately, each
# killed with SIGKILL at a random point (before, inside or after its
# commit and its notice to the daemon), with the replica's daemon running:
# no acknowledged commit is lost, verify passes on both nodes, and the
# replica converges to the primary's head.  Prints kills, lost commits
# and the time to converge.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

ROUNDS=${ROUNDS:-40}
BATCH=300	# keys of an apply: a commit long enough to be hit mid-way

rand_delay() { od -An -N2 -tu2 /dev/urandom | awk -v span="$span" '{ printf "%.3f", ($1 % span) / 1000 }'; }
now_ms() { date +%s%3N; }

step "fw1 and fw2 running, in step"
two_nodes
guide_synced fw1 fw2

# Twice one writer's time (a batch, acknowledged by fw2), so that kills
# land anywhere in it and some writers finish.
awk -v n=$BATCH 'BEGIN { for (k = 0; k < n; k++) printf "set cal.k%d v%d\n", k, k }' > "$SCRATCH/batch"
t0=$(now_ms)
on fw1 apply "$SCRATCH/batch" >/dev/null 2>&1
span=$(( 2 * ($(now_ms) - t0) + 1 ))

step "$ROUNDS writers on fw1, each killed at a random point"
: > "$SCRATCH/acked"
i=0 killed=0
while [ $i -lt "$ROUNDS" ]; do
	# "$CFGSTORE" itself in the background, not through a function,
	# so that $! is the writer and not a shell around it.
	if [ $((i % 2)) -eq 0 ]; then
		"$CFGSTORE" -d "$(dir fw1)" set -m "round $i" stream.k$i "v$i" \
		    >/dev/null 2>&1 &
	else
		awk -v i=$i -v n=$BATCH 'BEGIN { for (k = 0; k < n; k++) printf "set stream.b%d.k%d v%d\n", i, k, k }' > "$SCRATCH/batch.$i"
		"$CFGSTORE" -d "$(dir fw1)" apply -m "round $i" \
		    "$SCRATCH/batch.$i" >/dev/null 2>&1 &
	fi
	pid=$!
	sleep "$(rand_delay)"
	kill -9 $pid 2>/dev/null
	wait $pid
	case $? in
	0|3)	echo $i >> "$SCRATCH/acked" ;;
	137)	killed=$((killed + 1)) ;;
	*)	fail "writer $i failed without being killed" ;;
	esac
	i=$((i + 1))
done
[ "$killed" -gt 0 ] || fail "no writer was killed: the test proved nothing"
[ -s "$SCRATCH/acked" ] || fail "every writer was killed: nothing acknowledged to check"

step "the next write goes through; every acknowledged commit is there"
t0=$(now_ms)
expect 0 timeout 20 "$CFGSTORE" -d "$(dir fw1)" set stream.done yes
lost=0
while read -r i; do
	if [ $((i % 2)) -eq 0 ]; then
		on fw1 get stream.k$i >/dev/null 2>&1 || lost=$((lost + 1))
	else
		n=$(on fw1 list stream.b$i. | wc -l)
		[ "$n" -eq $BATCH ] || lost=$((lost + 1))
	fi
done < "$SCRATCH/acked"
# A batch is all there or not at all, acknowledged or not.
on fw1 list stream.b | sed 's/^stream\.b\([0-9]*\)\..*/\1/' | uniq -c > "$SCRATCH/counts"
while read -r count b; do
	[ "$count" -eq $BATCH ] || fail "batch $b has $count of $BATCH keys"
done < "$SCRATCH/counts"

step "fw2 converges to fw1's head; both verify and agree"
r=$(head_of fw1)
wait_head fw2 "$r" 30
converge=$(( $(now_ms) - t0 ))
same fw1 fw2
echo "kills: $killed of $ROUNDS; acknowledged: $(wc -l < "$SCRATCH/acked"); lost: $lost; fw2 at r$r ${converge} ms after the last write began"
[ "$lost" -eq 0 ] || fail "$lost acknowledged commits lost"
stop fw1
stop fw2
ok "killed writers lose nothing acknowledged"
