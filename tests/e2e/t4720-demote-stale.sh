#!/bin/sh
# A replica that reaches no peer after it starts, holding a head older
# than carp.stale_after, is stale: demoted until its primary reaches it.
# The commands are per host (KEY@HOST); a command that fails is logged,
# tried again with a growing back-off, and shown by status until it
# works.  The primary is not demoted for a peer it cannot reach.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"
. "$SRCDIR/tests/tools/carp-lib.sh"

step "fw1 and fw2 in step; fw2's commands its own, stale after 2 s"
carp_in_step
cat > "$SCRATCH/carp.apply" <<EOS
set carp.demote.raise@fw2 "$SCRATCH/carp raise 70"
set carp.demote.lower@fw2 "$SCRATCH/carp lower 70"
set carp.stale_after 2
EOS
expect 0 on fw1 apply "$SCRATCH/carp.apply"
r=$(head_of fw1)
wait_head fw2 "$r"
wait_for acked fw1 fw2 "$r" || fail "fw1 did not see the acknowledgement"
expect 2 on fw1 set carp.stale_after 2m
assert_err_line "carp.stale_after"
health fw2 0

step "fw2 restarted alone with a head older than 2 s: stale, demoted"
stop fw1
stop fw2
sleep 2.5
start fw2
wait_for grep -q "^fw2 raise 70$" "$CARP_LOG" || fail "not raised"
wait_for has_reason fw2 demoted || fail "status does not say demoted"
health fw2 4 primary-unreachable demoted
assert_grep "^  demoted +CARP demotion raised since .*: stale: no peer reached since the daemon started, and r$r is older than 2 s$" \
    "$SCRATCH/out"

step "fw1 back: it reaches fw2, which is lowered and stays so without it"
start fw1
wait_for grep -q "^fw2 lower 70$" "$CARP_LOG" || fail "not lowered"
health fw2 0
stop fw1
wait_for has_reason fw2 primary-unreachable || fail "fw1 not seen gone"
sleep 0.5
health fw2 4 primary-unreachable
assert_eq "$(carp_lines fw2)" "raise 70,lower 70" "fw2's commands"

step "a failing raise: logged, tried again later and later, shown by status"
stop fw2
touch "$SCRATCH/carp.fail"
lines=$(wc -l < "$SCRATCH/fw2.log")
start fw2
wait_for has_reason fw2 demote-failed || fail "status does not show the failure"
health fw2 4 primary-unreachable demote-failed
assert_grep "^  demote-failed +at .*: carp.demote.raise: exit 1: ifconfig: SIOCSIFGATTR: Device busy$" \
    "$SCRATCH/out"
wait_for grep -q "trying again in 2.0 s" "$SCRATCH/fw2.log" ||
    fail "no second try"
tail -n +$((lines + 1)) "$SCRATCH/fw2.log" > "$SCRATCH/log2"
assert_grep "carp demotion: carp.demote.raise failed: exit 1: ifconfig: SIOCSIFGATTR: Device busy; trying again in 1.0 s$" \
    "$SCRATCH/log2"
rm "$SCRATCH/carp.fail"
wait_for grep -q "^fw2 raise 70$" "$CARP_LOG" ||
    fail "not raised once the command works"
wait_for lacks_reason fw2 demote-failed || fail "status still shows the failure"
health fw2 4 primary-unreachable demoted

step "the primary is not demoted for the peer it cannot reach"
start fw1
wait_for grep -q "^fw2 lower 70$" "$CARP_LOG" || fail "not lowered"
# Not stale when started again below: held by fw2 before it stops.
expect 0 on fw1 del carp.stale_after
stop fw2
wait_for has_reason fw1 peer-unreachable || fail "fw2 not seen gone"
sleep 0.5
assert_eq "$(carp_lines fw1)" "" "fw1's commands"
assert_eq "$(carp_lines fw2)" "raise 70,lower 70,raise 70,lower 70" \
    "fw2's commands"
step "raised, the commands changed: the recorded lower takes it back"
start fw2
wait_for acked fw1 fw2 "$(head_of fw1)" || fail "fw2 not back"
expect 0 on fw1 set service.ntpd.restart@fw2 "false"
expect 3 on fw1 set ntpd.servers@fw2 10.9.9.9
wait_for grep -q "carp demotion raised .*: ntpd: restart-failed at r" \
    "$SCRATCH/fw2.log" || fail "not raised for the failed restart"
raises=$(carp_count fw2 raise)
expect 3 on fw1 set carp.demote.lower@fw2 "$SCRATCH/carp lower 99"
health fw2 4 service demoted
expect 3 on fw1 del carp.demote.raise@fw2 carp.demote.raise
wait_for grep -Eq "carp demotion lowered \($SCRATCH/carp lower 70\): carp.demote.raise unset$" \
    "$SCRATCH/fw2.log" || fail "not lowered once carp.demote.raise is unset"
assert_eq "$(carp_count fw2 raise)" "$raises" "raises"
assert_eq "$(carp_count fw2 lower)" "$raises" "lowers"
assert_no_grep "lower 99" "$CARP_LOG"
carp_paired fw2
wait_for lacks_reason fw2 demoted || fail "still demoted"
health fw2 4 service
ok "t4720"
