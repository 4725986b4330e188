#!/bin/sh
# A primary that hears of a newer epoch is fenced at once: status says so
# (exit 4, reason "fenced", --json), writes are refused naming the node
# it heard it from, nothing is pushed; promote --force on it takes the
# role back in a newer epoch still, and the replica follows.  The hello
# comes from a trusted key with no promote behind it: the case PROTOCOL.md
# names (a trusted peer's word fences, it commits nothing).
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

HOSTILE="$BUILDDIR/tests/hostile_peer"

step "fw1 primary of fw2, in step"
two_nodes
guide_synced fw1 fw2
expect 0 on fw1 status
assert_grep "^health: +ok$" "$SCRATCH/out"

step "a hello with fw2's key claims epoch 7: fw1 is fenced"
"$HOSTILE" -k "$(dir fw2)" "$(addr fw1)" epoch 7 2 \
    > "$SCRATCH/epoch.out" 2>&1 || true
wait_for grep -q "fw1: fenced: fw2 is the primary of epoch 7" \
    "$SCRATCH/fw1.log" || { cat "$SCRATCH/epoch.out"; tail "$SCRATCH/fw1.log"; \
    fail "fw1 was not fenced"; }
expect 4 on fw1 status
assert_grep "^  fenced +fw2 is the primary of epoch 7, above this node's 1: writes refused$" \
    "$SCRATCH/out"
assert_grep "^primary: fw2, epoch 7 \(fenced: " "$SCRATCH/out"
expect 4 on fw1 status --json
python3 -c 'import json,sys; j=json.load(sys.stdin); assert j["healthy"] is False and j["fenced"] == 7 and "fenced" in [x["reason"] for x in j["reasons"]], j' \
    < "$SCRATCH/out" || fail "status --json of a fenced node"
h=$(head_of fw1)
expect 1 on fw1 set ntpd.listen 10.0.0.9
assert_err_line "fw2"
[ "$(head_of fw1)" = "$h" ] || fail "a fenced node committed"

step "promote --force on fw1: epoch 8, fw2 follows, healthy again"
CFGSTORE_WAIT=5
expect 0 on fw1 promote --force
assert_grep "^fw1: promoted to primary, epoch 8, r$((h + 1))$" "$SCRATCH/out"
assert_grep "^fw2: applied r$((h + 1))" "$SCRATCH/out"
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.19
assert_grep "^fw2: applied r$((h + 2)), restarted ntpd" "$SCRATCH/out"
wait_for acked fw1 fw2 $((h + 2)) || fail "fw1 did not see fw2's ack"
expect 0 on fw1 status
assert_grep "^epoch: +8$" "$SCRATCH/out"
assert_grep "^health: +ok$" "$SCRATCH/out"
same fw1 fw2
stop fw1
stop fw2
ok "t4625"
