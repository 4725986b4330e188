#!/bin/sh
# A replica whose history is not the primary's is refused, never
# overwritten; both sides log it and show it in status.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

step "fw2 took its history from another primary, fwx"
node_init fw1 --primary
node_init fwx --primary
node_init fw2
pair fw1 fw2
pair fwx fw2
on fw1 set --no-wait ntpd.listen 10.0.0.2 > /dev/null
on fwx set --no-wait ntpd.listen 10.6.6.6 > /dev/null
start fw2
start fwx
wait_head fw2 2
store_fingerprint "$(dir fw2)" > "$SCRATCH/before"
stop fwx

step "fw1 refuses to push to it, and says why"
start fw1
expect 3 on fw1 set ntpd.servers pool.ntp.org
assert_grep "^fw2: refused: diverged: peer's r2 differs from ours$" \
    "$SCRATCH/out"
wait_for grep -q "fw2: histories diverged, not pushing" "$SCRATCH/fw1.log" ||
    fail "fw1 did not log it"
wait_for grep -q "fw1: refuses us (diverged)" "$SCRATCH/fw2.log" ||
    fail "fw2 did not log it"

step "status shows it on both sides"
expect 4 on fw1 status
assert_grep "last error at .*: diverged: peer's r2 differs from ours" \
    "$SCRATCH/out"
expect 4 on fw2 status
assert_grep "last error at .*: diverged: peer's r2 differs from ours" \
    "$SCRATCH/out"

step "fw2's store is untouched"
store_fingerprint "$(dir fw2)" > "$SCRATCH/after"
cmp -s "$SCRATCH/before" "$SCRATCH/after" || fail "fw2 was changed"
expect 0 on fw2 get ntpd.listen
assert_out "10.6.6.6"
ok "t4060"
