#!/bin/sh
# A replica asked to check what it cannot: a prepare on a base it is not
# at, or with a change that does not decode, is answered "cannot check"
# with the reason, and the session goes on; a prepare from a trusted peer
# that is not the primary is refused like its change sets.  Nothing is
# written on the replica.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

HOSTILE="$BUILDDIR/tests/hostile_peer"
node_init fw1 --primary
node_init fw2
node_init evil
pair fw1 fw2
on fw2 peer add evil "$(addr evil)" "$(key evil)" >/dev/null || fail "evil"
start fw1
start fw2
guide_synced fw1 fw2
stop fw1
fp=$(store_fingerprint "$(dir fw2)")

step "a base fw2 is not at: cannot check, and why"
expect 0 "$HOSTILE" -k "$(dir fw1)" "$(addr fw2)" prepare-behind
assert_grep "^answer: verdict cannot check: fw2 is at r$r, not at r$((r + 1))\$" \
    "$SCRATCH/out"
grep -q "prepare 9 on r$((r + 1)): cannot check" "$SCRATCH/fw2.log" ||
    fail "fw2 did not log it"

step "a change that does not decode: cannot check, and why"
expect 0 "$HOSTILE" -k "$(dir fw1)" "$(addr fw2)" prepare-garbage
assert_grep "^answer: verdict cannot check: malformed change: " \
    "$SCRATCH/out"

step "from a trusted peer that is not the primary: refused"
expect 1 "$HOSTILE" -k "$(dir evil)" "$(addr fw2)" prepare-behind
assert_grep "^answer: nack rejected: evil is not our primary" "$SCRATCH/out"
wait_for grep -q "evil: refused a prepare: evil is not our primary" \
    "$SCRATCH/fw2.log" || fail "fw2 did not refuse evil's prepare"

step "nothing was written on fw2"
assert_eq "$(store_fingerprint "$(dir fw2)")" "$fp" "fw2's store"
stop fw2
ok "t3440"
