#!/bin/sh
# Promote refused: on the primary; on a replica whose primary is
# reachable and ahead of it (unless --force); and a promote by a key the
# replica does not trust, sent to it over a trusted link, is rejected by
# its store and logged, nothing changed.  (Forged promotes and epochs
# that go backwards: tests/unit/test_store.c, test_failover.)
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

HOSTILE="$BUILDDIR/tests/hostile_peer"

step "fw1 primary of fw2; fw9 a replica of fw1 that fw2 does not know"
node_init fw1 --primary
node_init fw2
node_init fw9
pair fw1 fw2
pair fw1 fw9
start fw1
start fw2
start fw9
guide_synced fw1 fw2
wait_head fw9 "$r"

step "promote on the primary: refused, nothing written"
expect 1 on fw1 promote
assert_err_line "fw1 is the primary already, of epoch 1 \(--force"
[ "$(head_of fw1)" = "$r" ] || fail "fw1 committed"

step "fw9, no daemon running, promotes itself: epoch 2 in its store"
stop fw9
expect 3 on fw9 promote
assert_grep "^fw9: cfgstore serve is not running here, so the primary counts as not reachable$" \
    "$SCRATCH/out"
assert_grep "^fw9: promoted to primary, epoch 2, r$((r + 1))$" "$SCRATCH/out"
on fw9 show --raw $((r + 1)) > "$SCRATCH/promote.raw"

step "promote on fw2 while fw1 is reachable and ahead: refused"
stop fw1
"$HOSTILE" -k "$(dir fw1)" "$(addr fw2)" ahead $((r + 5)) 20 \
    > "$SCRATCH/ahead.out" 2>&1 &
hpid=$!
test_pids="$test_pids $hpid"
wait_for grep -q "replica is at r$r" "$SCRATCH/ahead.out" || {
	cat "$SCRATCH/ahead.out"; fail "no session as fw1"; }
wait_for sh -c "'$CFGSTORE' -d '$(dir fw2)' status |
    grep -q '^primary: fw1, epoch 1, connected'" ||
    fail "fw2 does not see fw1 connected"
expect 1 on fw2 promote
assert_err_line "fw1, the primary, is reachable and ahead of this node \(r$((r + 5)), here r$r\): let this node catch up first, or --force"
[ "$(head_of fw2)" = "$r" ] || fail "fw2 committed"
kill "$hpid" 2>/dev/null
wait "$hpid" 2>/dev/null

step "fw9's promote sent to fw2 over fw1's link: fw9 is not trusted"
store_fingerprint "$(dir fw2)" > "$SCRATCH/before"
lines=$(wc -l < "$SCRATCH/fw2.log")
"$HOSTILE" -k "$(dir fw1)" "$(addr fw2)" relay "$SCRATCH/promote.raw" \
    > "$SCRATCH/attack.out" 2>&1 || {
	cat "$SCRATCH/attack.out"; fail "fw9's promote was not refused"; }
wait_for sh -c "tail -n +$((lines + 1)) '$SCRATCH/fw2.log' |
    grep -q 'fw1: rejected a change set: signed by untrusted key $(key fw9)'" || {
	tail -n +$((lines + 1)) "$SCRATCH/fw2.log"
	fail "no rejection of fw9's promote in fw2's log"; }
store_fingerprint "$(dir fw2)" > "$SCRATCH/after"
cmp -s "$SCRATCH/before" "$SCRATCH/after" || fail "fw2 was changed"
# fw1 was stopped above: degraded, its primary unreachable.
expect 4 on fw2 status
assert_grep "^  primary-unreachable +fw1 " "$SCRATCH/out"
assert_grep "^node: +fw2 \(replica\)$" "$SCRATCH/out"
assert_grep "^epoch: +1$" "$SCRATCH/out"

step "epochs only grow: a second promote starts epoch 3"
stop fw2
expect 3 on fw2 promote
assert_grep "^fw2: promoted to primary, epoch 2, r$((r + 1))$" "$SCRATCH/out"
expect 1 on fw2 promote
assert_err_line "fw2 is the primary already, of epoch 2"
expect 3 on fw2 promote --force
assert_grep "^fw2: promoted to primary, epoch 3, r$((r + 2))$" "$SCRATCH/out"
expect 0 on fw2 verify
ok "t4620"
