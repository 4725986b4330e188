#!/bin/sh
# The primary is demoted for its own failed render, and only for that:
# not for a peer it cannot reach, nor for one behind.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"
. "$SRCDIR/tests/tools/carp-lib.sh"

step "fw1 and fw2 in step, the demotion commands set"
carp_in_step
health fw1 0

step "fw1's restart of ntpd fails: fw1 raised, fw2 not"
expect 0 on fw1 set service.ntpd.restart@fw1 "false"
expect 3 on fw1 set ntpd.servers@fw1 10.9.9.9
assert_grep "^fw1: committed r[0-9]+, failed: ntpd$" "$SCRATCH/out"
demoted_for_service fw1
assert_grep "^  demoted +CARP demotion raised since .*: ntpd: restart-failed at r[0-9]+$" \
    "$SCRATCH/out"
health fw2 0

step "fw2 down meanwhile: no more for fw1, whose peer is unreachable"
stop fw2
expect 3 on fw1 set test.x 1
wait_for has_reason fw1 peer-unreachable || fail "fw2 not seen gone"
health fw1 4 service demoted peer-unreachable peer-behind

step "ntpd renders again on fw1: lowered, though fw2 is still down"
expect 3 on fw1 del service.ntpd.restart@fw1
assert_grep "^fw1: committed r[0-9]+, restarted ntpd$" "$SCRATCH/out"
wait_for grep -q "^fw1 lower 50$" "$CARP_LOG" || fail "fw1 not lowered"
wait_for lacks_reason fw1 demoted || fail "status still says demoted"
health fw1 4 peer-unreachable peer-behind
assert_eq "$(carp_lines fw1)" "raise 50,lower 50" "fw1's commands"
assert_eq "$(carp_lines fw2)" "" "fw2's commands"
ok "t4730"
