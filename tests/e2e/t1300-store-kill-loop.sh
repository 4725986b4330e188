#!/bin/sh
# Writers killed with SIGKILL at random points of a commit, while readers
# in other processes read: no acknowledged commit is lost, no commit is
# half there, the next writer is never wedged, and verify passes.  Run
# with LMDB's own locks and with the flock(2) mode, each also with
# MDB_WRITEMAP: flock(2) and MDB_WRITEMAP together are what OpenBSD runs.
. "$(dirname "$0")/lib.sh"

KEYS=4000	# keys per batch: a commit long enough to be hit mid-way
ROUNDS=${ROUNDS:-30}

# A delay from 0 to the time one writer takes ($span ms), so that kills
# land before, inside and after the commit.
rand_delay() { od -An -N2 -tu2 /dev/urandom | awk -v span="$span" '{ printf "%.3f", ($1 % span) / 1000 }'; }
now_ms() { date +%s%3N; }

run_mode() {
	mode=$1
	export CFGSTORE_DIR="$SCRATCH/store-$mode"
	expect 0 "$CFGSTORE" init --node fw1 --primary
	: > "$SCRATCH/acked"
	awk -v n=$KEYS 'BEGIN { for (k = 0; k < n; k++) printf "set calibrate.k%d v%d\n", k, k }' > "$SCRATCH/batch"
	t0=$(now_ms)
	"$CFGSTORE" apply "$SCRATCH/batch" >/dev/null || fail "calibration apply failed"
	span=$(( $(now_ms) - t0 + 1 ))

	# Readers in other processes all along: they must never fail.
	( while [ ! -e "$SCRATCH/stop" ]; do
		"$CFGSTORE" list batch >/dev/null 2>"$SCRATCH/reader.err" ||
		    { echo "reader failed: $(cat "$SCRATCH/reader.err")" > "$SCRATCH/reader.fail"; }
	  done ) &
	reader=$!

	i=0
	killed=0
	while [ $i -lt "$ROUNDS" ]; do
		awk -v i=$i -v n=$KEYS 'BEGIN { for (k = 0; k < n; k++) printf "set batch.b%d.k%d v%d\n", i, k, k }' > "$SCRATCH/batch"
		"$CFGSTORE" apply -m "batch $i" "$SCRATCH/batch" >/dev/null 2>&1 &
		pid=$!
		sleep "$(rand_delay)"
		kill -9 $pid 2>/dev/null
		wait $pid
		case $? in
		0)	echo $i >> "$SCRATCH/acked" ;;
		137)	killed=$((killed + 1)) ;;
		*)	fail "writer $i failed without being killed" ;;
		esac
		i=$((i + 1))
	done
	touch "$SCRATCH/stop"
	wait $reader
	rm -f "$SCRATCH/stop"
	[ ! -e "$SCRATCH/reader.fail" ] || fail "$(cat "$SCRATCH/reader.fail")"

	step "$mode: the next writer is not wedged"
	expect 0 timeout 20 "$CFGSTORE" set after.kill yes

	step "$mode: every batch is all there or not at all; acked ones are there"
	"$CFGSTORE" list batch | sed 's/^batch\.b\([0-9]*\)\..*/\1/' | sort -n | uniq -c > "$SCRATCH/counts"
	while read -r count b; do
		[ "$count" -eq $KEYS ] || fail "batch $b has $count of $KEYS keys"
	done < "$SCRATCH/counts"
	while read -r b; do
		grep -q " $b\$" "$SCRATCH/counts" || fail "acknowledged batch $b is lost"
	done < "$SCRATCH/acked"

	step "$mode: verify"
	expect 0 "$CFGSTORE" verify
	ok "$mode: $ROUNDS writers, $killed killed, $(wc -l < "$SCRATCH/acked") acknowledged, $(wc -l < "$SCRATCH/counts") batches present"
	[ "$killed" -gt 0 ] || fail "no writer was killed: the test proved nothing"
}

run_mode lmdb-locks
CFGSTORE_OWN_LOCKS=1 run_mode flock
# Fewer rounds: these modes differ from the above in how pages reach the
# file, not in the locking the many rounds are there to hit.
ROUNDS=$((ROUNDS / 2 + 1))
CFGSTORE_WRITEMAP=1 run_mode writemap
CFGSTORE_WRITEMAP=1 CFGSTORE_OWN_LOCKS=1 run_mode openbsd
