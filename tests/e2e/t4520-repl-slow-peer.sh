#!/bin/sh
# A replica that stops reading delays only itself: the primary's network
# process keeps a queue per session, so big commits still reach the other
# replica at once while the stuck one's queue is full; the stuck one is
# dropped after 10 s (logged), and catches up once it reads again.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

command -v ps > /dev/null || { echo "SKIP: no ps"; exit 77; }

blobs() {
	"$BUILDDIR/tests/commit_blobs" "$(dir fw1)" "$1" "$2" > /dev/null ||
	    fail "commit_blobs $1"
}

# family NAME: the daemon NAME and its children (the network process).
family() { echo "$(pid "$1") $(ps -o pid= --ppid "$(pid "$1")")"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# acked_within MS PRIMARY PEER REV: PEER acknowledged REV within MS.
acked_within() {
	t0=$(now_ms)
	while ! acked "$2" "$3" "$4"; do
		[ $(($(now_ms) - t0)) -lt "$1" ] || {
			tail -20 "$SCRATCH/$2.log"
			fail "$3 did not acknowledge r$4 within $1 ms"; }
		sleep 0.05
	done
	echo "# $3 acknowledged r$4 after $(($(now_ms) - t0)) ms"
}

step "fw1 pushes to fw2 and fw3, all in step"
star fw1 fw2 fw3
start fw1
start fw2
start fw3
on fw1 set --no-wait test.start 1 > /dev/null || fail "set"
r=$(head_of fw1)
wait_head fw2 "$r"
wait_head fw3 "$r"
wait_for acked fw1 fw3 "$r" || fail "fw3 not acknowledged"

step "fw3 stops reading: its daemon and network process stopped"
stopped=$(family fw3)
# Stopped processes would not die of the cleanup's SIGTERM.
trap 'kill -CONT $stopped 2>/dev/null; cleanup' EXIT
[ "$(echo $stopped | wc -w)" -ge 2 ] || fail "fw3: no network process"
kill -STOP $stopped

# Each round is a commit bigger than the socket buffers, and a small one
# after it: fw3's frames fill its socket and stay; fw2's must not wait.
for round in 1 2 3; do
	step "round $round: 24 MiB and a small commit, fw2 acknowledges both"
	blobs $((24 << 10)) "test.big$round"
	on fw1 set --no-wait "test.kick" "$round" > /dev/null ||
	    fail "set round $round"
	r=$((r + 2))
	assert_eq "$(head_of fw1)" "$r" "fw1's head"
	acked_within 6000 fw1 fw2 "$r"
done
acked fw1 fw3 "$r" && fail "fw3 acknowledged while stopped"

step "fw3's session with the full queue was dropped, and logged"
wait_for grep -q "fw3: dropped: send: timed out" "$SCRATCH/fw1.log" ||
    fail "no drop of fw3 logged"

step "fw3 reads again: catches up"
kill -CONT $stopped
wait_head fw3 "$r" 120
wait_for acked fw1 fw3 "$r" || fail "fw1 did not see fw3's acknowledgement"
same fw1 fw2 fw3
for n in fw1 fw2 fw3; do stop $n; done
ok "t4520"
