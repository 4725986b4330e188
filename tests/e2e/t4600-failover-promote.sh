#!/bin/sh
# Losing the primary.  fw1 (primary), fw2 and fw3, each trusting the
# others.  fw1 is SIGKILLed; `promote` on fw2 makes it the primary of
# epoch 2 and its commits reach fw3.  fw1 comes back believing it is the
# primary: it learns of epoch 2, is fenced (writes refused, naming fw2),
# takes fw2's history and renders it.  Then the role is handed back the
# same way: `promote` on fw1, and fw2 follows.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

step "fw1 primary of fw2 and fw3, all three trusting each other"
node_init fw1 --primary
node_init fw2
node_init fw3
three_synced
expect 0 on fw2 status
assert_grep "^epoch: +1$" "$SCRATCH/out"
assert_grep "^primary: fw1, epoch 1, connected$" "$SCRATCH/out"

step "fw1 is killed; fw2 refuses writes and names fw1"
stop fw1 KILL
expect 1 on fw2 set ntpd.listen@fw2 10.0.0.70
assert_err_line "fw2 is a replica: write on the primary, fw1"
wait_for sh -c "'$CFGSTORE' -d '$(dir fw2)' status |
    grep -q '^primary: fw1, epoch 1, not reachable'" ||
    fail "fw2 does not say fw1 is not reachable"

step "promote on fw2: the primary of epoch 2, fw3 follows"
CFGSTORE_WAIT=3
expect 3 on fw2 promote
assert_grep "^fw2: the primary, fw1, is not reachable$" "$SCRATCH/out"
assert_grep "^fw2: promoted to primary, epoch 2, r$((r + 1))$" "$SCRATCH/out"
assert_grep "^fw3: applied r$((r + 1))" "$SCRATCH/out"
assert_grep "^fw1: (unreachable|no answer yet), will catch up$" "$SCRATCH/out"
assert_grep "fw2: promoted: now the primary, epoch 2" "$SCRATCH/fw2.log"
expect 0 on fw2 show $((r + 1))
assert_grep "promote fw2 to primary, epoch 2" "$SCRATCH/out"
expect 4 on fw2 status
assert_grep "^node: +fw2 \(primary\)$" "$SCRATCH/out"
assert_grep "^  peer-unreachable +fw1 " "$SCRATCH/out"
assert_grep "^epoch: +2$" "$SCRATCH/out"

step "fw2's commits reach fw3; fw3 refuses writes naming fw2"
expect 3 on fw2 set ntpd.listen@fw3 10.0.0.73
assert_grep "^fw3: applied r$((r + 2)), restarted ntpd" "$SCRATCH/out"
expect 3 on fw2 set ntpd.listen@fw1 10.0.0.71
assert_grep "^fw3: applied r$((r + 3))" "$SCRATCH/out"
r=$((r + 3))
wait_head fw3 $r
expect 1 on fw3 set ntpd.listen 10.0.0.99
assert_err_line "write on the primary, fw2"
expect 0 on fw3 status
assert_grep "^primary: fw2, epoch 2, connected$" "$SCRATCH/out"

step "fw1 comes back as it was, a primary: fenced, it follows fw2"
: > "$SCRATCH/fw1.log"
start fw1
wait_head fw1 $r 30
assert_grep "fw1: fenced: (fw2|a node) is the primary of epoch 2" \
    "$SCRATCH/fw1.log"
wait_for grep -q "listen on 10.0.0.71" "$SCRATCH/fw1/root/etc/ntpd.conf" ||
    fail "fw1 did not render fw2's history"
expect 0 on fw1 status
assert_grep "^node: +fw1 \(replica\)$" "$SCRATCH/out"
assert_grep "^primary: fw2, epoch 2, connected$" "$SCRATCH/out"
expect 1 on fw1 set ntpd.listen@fw1 10.0.0.98
assert_err_line "write on the primary, fw2"
expect 0 on fw1 get ntpd.listen@fw1
assert_out "10.0.0.71"
wait_for acked fw2 fw1 $r || fail "fw2 did not see fw1 acknowledge r$r"
same fw2 fw1 fw3

step "and replicates from fw2 at once"
CFGSTORE_WAIT=5
expect 0 on fw2 set ntpd.listen@fw1 10.0.0.72
assert_grep "^fw1: applied r$((r + 1)), restarted ntpd" "$SCRATCH/out"
assert_grep "^fw3: applied r$((r + 1))" "$SCRATCH/out"
r=$((r + 1))

step "handing back: promote on fw1, caught up; fw2 follows it"
expect 0 on fw1 promote
assert_grep "^fw1: promoted to primary, epoch 3, r$((r + 1))$" "$SCRATCH/out"
assert_grep "^fw2: applied r$((r + 1))" "$SCRATCH/out"
assert_grep "^fw3: applied r$((r + 1))" "$SCRATCH/out"
r=$((r + 1))
wait_for grep -q "fw2: fenced: fw1 is the primary of epoch 3" \
    "$SCRATCH/fw2.log" || fail "fw2 does not log its fencing"
expect 1 on fw2 set ntpd.listen@fw2 10.0.0.97
assert_err_line "write on the primary, fw1"
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.74
assert_grep "^fw2: applied r$((r + 1)), restarted ntpd" "$SCRATCH/out"
assert_grep "^fw3: applied r$((r + 1))" "$SCRATCH/out"
r=$((r + 1))
same fw1 fw2 fw3
expect 0 on fw2 log --diverged
[ ! -s "$SCRATCH/out" ] || { out; fail "fw2 has a diverged branch"; }
stop fw1
stop fw2
stop fw3
ok "t4600"
