#!/bin/sh
# A daemon stopped while the command line waits on it answers before it
# goes: a `set` waiting for a peer's render hears "daemon shutting down"
# for what is not done yet, and exits 3 (not everywhere yet), its commit
# made and kept.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

step "fw1 and fw2 in step; fw2's ntpd restart takes 3 s"
two_nodes
guide_synced fw1 fw2
expect 0 on fw1 set "service.ntpd.restart@fw2" "sleep 3"
r=$(head_of fw1)
wait_head fw2 "$r"

step "SIGTERM to fw1 while a set waits for fw2's restart: the set is answered"
on fw1 set ntpd.listen@fw2 10.7.0.1 > "$SCRATCH/set.out" 2>&1 &
s=$!
# fw2 holds the commit and restarts ntpd for 3 s.
wait_head fw2 $((r + 1))
t0=$(date +%s)
stop fw1
wait $s
rc=$?
cat "$SCRATCH/set.out"
assert_eq "$rc" 3 "set's exit status"
assert_grep "^fw1: committed r$((r + 1)), " "$SCRATCH/set.out"
assert_grep "^fw2: .*daemon shutting down" "$SCRATCH/set.out"
# Answered at the stop, not when fw2's restart ended.
[ $(($(date +%s) - t0)) -le 2 ] || fail "fw1 took the restart's time to stop"
assert_grep "stopped$" "$SCRATCH/fw1.log"

step "the commit stays made, and fw2 acknowledges it to fw1 started again"
start fw1
assert_eq "$(head_of fw1)" $((r + 1)) "fw1's head"
wait_for acked fw1 fw2 $((r + 1)) || fail "fw2 never acknowledged r$((r + 1))"
stop fw1
stop fw2
ok "t4530"
