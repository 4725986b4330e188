#!/bin/sh
# The demotion is never raised twice nor left raised: a replica killed
# with SIGKILL in the middle of a catch-up, while raised, and started
# again raises nothing more and lowers once, when caught up.  Stopped
# cleanly (SIGTERM) while raised, it takes the raise back; started again
# while still untrusted (a failed restart), it raises again.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"
. "$SRCDIR/tests/tools/carp-lib.sh"

step "fw1 and fw2 in step, the demotion commands set"
# Batches of one commit: the catch-up lasts long enough to be cut.
carp_in_step 1

step "SIGKILL while raised in the middle of a catch-up"
stop fw2
commits 1000
start fw2
on fw1 set --no-wait test.kick 1 > /dev/null
r=$(head_of fw1)
wait_for grep -q "^fw2 raise 50$" "$CARP_LOG" || fail "not raised"
stop fw2 KILL
h=$(head_of fw2)
echo "fw2 killed at r$h of r$r"
[ "$h" -lt "$r" ] || fail "the catch-up was over before the kill"
assert_eq "$(carp_lines fw2)" "raise 50" "fw2's commands before the restart"
# The record says so with the daemon down.
health fw2 4 daemon behind demoted

step "started again: nothing raised twice, lowered once caught up"
lines=$(wc -l < "$SCRATCH/fw2.log")
start fw2
on fw1 set --no-wait test.kick 2 > /dev/null
r=$((r + 1))
wait_head fw2 "$r" 60
wait_for grep -q "^fw2 lower 50$" "$CARP_LOG" || fail "not lowered"
assert_eq "$(carp_lines fw2)" "raise 50,lower 50" "fw2's commands"
tail -n +$((lines + 1)) "$SCRATCH/fw2.log" > "$SCRATCH/log2"
assert_grep "carp demotion: raised by an earlier run \(behind the primary: r[0-9]+ of r[0-9]+\)" \
    "$SCRATCH/log2"
health fw2 0
same fw1 fw2

step "a failed restart on fw2: raised, degraded, and so it stays"
expect 0 on fw1 set service.ntpd.restart@fw2 "false"
r=$((r + 1))
expect 3 on fw1 set ntpd.servers@fw2 10.9.9.9
r=$((r + 1))
assert_grep "^fw2: applied r$r, failed: ntpd$" "$SCRATCH/out"
demoted_for_service fw2
assert_grep "^  service +ntpd: restart-failed at r$r: restart failed \(exit 1\)" \
    "$SCRATCH/out"
assert_grep "^  demoted +CARP demotion raised since .*: ntpd: restart-failed at r$r$" \
    "$SCRATCH/out"
# Back to the files installed: a render with nothing to do for ntpd does
# not hide the failure, nor lower the demotion.
expect 0 on fw1 del ntpd.servers@fw2
r=$((r + 1))
assert_grep "^fw2: applied r$r, no change$" "$SCRATCH/out"
health fw2 4 service demoted
assert_grep "^  ntpd +r$((r - 1)) +restart-failed " "$SCRATCH/out"
assert_eq "$(carp_lines fw2)" "raise 50,lower 50,raise 50" "fw2's commands"

step "SIGTERM while raised: taken back; started again: raised again"
stop fw2
assert_eq "$(carp_lines fw2)" "raise 50,lower 50,raise 50,lower 50" \
    "fw2's commands after SIGTERM"
assert_grep "carp demotion lowered \($SCRATCH/carp lower 50\): the daemon stops" \
    "$SCRATCH/fw2.log"
health fw2 4 daemon service
start fw2
wait_for sh -c "[ \"\$(grep -c '^fw2 raise' '$CARP_LOG')\" = 3 ]" ||
    fail "not raised again"

step "the service renders again: lowered"
expect 0 on fw1 del service.ntpd.restart@fw2
expect 0 on fw1 set ntpd.servers@fw2 10.9.9.8
r=$((r + 2))
assert_grep "^fw2: applied r$r, restarted ntpd$" "$SCRATCH/out"
wait_for sh -c "[ \"\$(grep -c '^fw2 lower' '$CARP_LOG')\" = 3 ]" ||
    fail "not lowered"
assert_eq "$(carp_lines fw2)" \
    "raise 50,lower 50,raise 50,lower 50,raise 50,lower 50" "fw2's commands"
assert_eq "$(carp_lines fw1)" "" "fw1's commands"
health fw2 0
ok "t4710"
