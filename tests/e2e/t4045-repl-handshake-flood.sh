#!/bin/sh
# Anyone who can reach a replica's port can open connections and never
# finish a handshake.  Bounded per address and in all, with the oldest
# cut short rather than the newest refused, such a flood from other
# addresses never keeps the real primary out: it reconnects, and a
# commit is applied on the replica while the flood goes on.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

HOSTILE="$BUILDDIR/tests/hostile_peer"

step "fw1 and fw2 in step"
two_nodes
guide_synced fw1 fw2
stop fw1

step "a flood of stalled connections from 24 other loopback addresses"
# 60 at once, each reopened as soon as fw2 closes it, for 12 s: more
# than fw2 holds per address and in all.
"$HOSTILE" "$(addr fw2)" flood 60 12 > "$SCRATCH/flood.out" 2>&1 &
flood=$!
test_pids="$test_pids $flood"
wait_for grep -q "too many unfinished handshakes" "$SCRATCH/fw2.log" ||
    fail "the flood did not reach the bounds"
sleep 1

step "fw1 comes back during the flood: it connects, fw2 applies"
start fw1
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.77
assert_grep "^fw2: applied r$((r + 1)), restarted ntpd" "$SCRATCH/out"
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.78
assert_grep "^fw2: applied r$((r + 2)), restarted ntpd" "$SCRATCH/out"
kill -0 "$flood" 2>/dev/null || { cat "$SCRATCH/flood.out"; fail "flood over early"; }
wait "$flood" || { cat "$SCRATCH/flood.out"; fail "flood"; }
cat "$SCRATCH/flood.out"
assert_grep "dropped: too many unfinished handshakes, the oldest makes room" \
    "$SCRATCH/fw2.log"
# Only the flood's addresses were ever cut short.
assert_no_grep "connection from 127\.0\.0\.1:[0-9]+ dropped" "$SCRATCH/fw2.log"

step "after the flood: still in step"
same fw1 fw2
kill -0 "$(pid fw2)" || fail "fw2 died"
ok "t4045"
