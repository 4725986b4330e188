#!/bin/sh
# A partition with writes on both sides.  fw1 (primary) in one network
# namespace, fw2 and fw3 in another, a veth pair between.  The link is
# cut: fw1 goes on committing; fw2 is promoted (epoch 2) and commits too.
# Once the link is back, fw1 learns of epoch 2 and is fenced; its
# commits after the fork point move to its diverged branch, readable with
# log --diverged and show diverged:1:REV, and it takes fw2's history:
# every node holds fw2's history and renders it.  export --diverged
# applied on fw2 brings fw1's lost changes back, as new commits.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"
. "$SRCDIR/tests/tools/netns-lib.sh"

step "fw1 in one namespace, fw2 and fw3 in the other"
netns_up
ns_init fw1 A --primary
ns_init fw2 B
ns_init fw3 B
three_synced ns_start

step "the link is cut; fw1 commits on its side"
link_cut
CFGSTORE_WAIT=1
for i in 1 2 3; do
	expect 3 on fw1 set -m "fw1 cut off $i" ntpd.listen@fw1 "10.0.1.$i"
done
wait_for grep -q "listen on 10.0.1.3" "$SCRATCH/fw1/root/etc/ntpd.conf" ||
    fail "fw1 did not render its own commits"

step "fw2 is promoted on the other side and commits; fw3 follows it"
expect 3 on fw2 promote
assert_grep "^fw2: promoted to primary, epoch 2, r$((r + 1))$" "$SCRATCH/out"
assert_grep "^fw3: applied r$((r + 1))" "$SCRATCH/out"
expect 3 on fw2 set -m "fw2 side 1" ntpd.listen@fw1 10.0.2.1
assert_grep "^fw3: applied r$((r + 2))" "$SCRATCH/out"
expect 3 on fw2 set -m "fw2 side 2" ntpd.listen@fw3 10.0.2.3
assert_grep "^fw3: applied r$((r + 3)), restarted ntpd" "$SCRATCH/out"
[ "$(head_of fw1)" = $((r + 3)) ] || fail "fw1 lost a commit"

step "the link is back: fw1 is fenced and takes fw2's history"
link_back
wait_for grep -q "fw1: fenced: .* epoch 2" "$SCRATCH/fw1.log" ||
    wait_for grep -q "fw1: fenced: .* epoch 2" "$SCRATCH/fw1.log" ||
    fail "fw1 was not fenced"
wait_secs 30 last_commit "fw2 side 2" fw1 ||
    { tail -30 "$SCRATCH/fw1.log"; fail "fw1 did not follow fw2"; }
assert_grep "fw2: took its history from its promote on: 3 commits of ours moved to the diverged branch" \
    "$SCRATCH/fw1.log"
same fw2 fw1 fw3
wait_for grep -q "listen on 10.0.2.1" "$SCRATCH/fw1/root/etc/ntpd.conf" ||
    fail "fw1 does not render fw2's history"
grep -q "listen on 10.0.2.3" "$SCRATCH/fw3/root/etc/ntpd.conf" ||
    fail "fw3 does not render fw2's history"
expect 1 on fw1 set ntpd.listen@fw1 10.0.1.9
assert_err_line "write on the primary, fw2"

step "fw1's commits are on its diverged branch, every one readable"
expect 4 on fw1 status
assert_grep "^  diverged +3 commits moved to the diverged branch and not exported" "$SCRATCH/out"
assert_grep "^diverged: 3 commits moved out of the history" "$SCRATCH/out"
assert_grep "^primary: fw2, epoch 2, connected$" "$SCRATCH/out"
expect 0 on fw1 log --diverged
[ "$(grep -c '^diverged:1:' "$SCRATCH/out")" = 3 ] || { out; fail "log --diverged"; }
assert_grep "^diverged:1:$((r + 3)) .*fw1 cut off 3$" "$SCRATCH/out"
assert_grep "^diverged:1:$((r + 1)) .*fw1 cut off 1$" "$SCRATCH/out"
expect 0 on fw1 show diverged:1:$((r + 2))
assert_grep "fw1 cut off 2" "$SCRATCH/out"
assert_grep "ntpd.listen@fw1" "$SCRATCH/out"
expect 0 on fw1 show --raw diverged:1:$((r + 2))
expect 1 on fw1 show diverged:1:$((r + 7))
assert_err_line "no diverged commit 1:$((r + 7))"
expect 2 on fw1 show diverged:x:1
assert_err_line "invalid diverged commit"
expect 0 on fw1 log --diverged --json
assert_grep "\"diverged\": \"diverged:1:$((r + 1))\"" "$SCRATCH/out"
expect 0 on fw1 show --json diverged:1:$((r + 3))
assert_grep "\"diverged\": \"diverged:1:$((r + 3))\"" "$SCRATCH/out"
expect 4 on fw1 status --json
assert_grep '"epoch": 2,' "$SCRATCH/out"
assert_grep '"diverged": 3' "$SCRATCH/out"
assert_grep '"diverged_exported": 0' "$SCRATCH/out"
assert_grep '"healthy": false' "$SCRATCH/out"
assert_grep '"fenced": false' "$SCRATCH/out"
assert_grep '"primary_connected": true' "$SCRATCH/out"
expect 0 on fw1 verify

step "exported and applied on fw2, fw1's changes are back on every node"
expect 0 on fw1 export --diverged
cp "$SCRATCH/out" "$SCRATCH/diverged.apply"
assert_grep "^# diverged:1:$((r + 1)) fw1: fw1 cut off 1$" "$SCRATCH/diverged.apply"
assert_grep "^set ntpd.listen@fw1 10.0.1.3$" "$SCRATCH/diverged.apply"
# Exported, the branch is in the admin's hands: healthy again, still kept.
expect 0 on fw1 status
assert_grep "^diverged: 3 commits moved out of the history .*, 3 exported at " "$SCRATCH/out"
assert_grep "^health: +ok$" "$SCRATCH/out"
expect 0 on fw1 log --diverged
[ "$(grep -c '^diverged:1:' "$SCRATCH/out")" = 3 ] || fail "export lost the branch"
CFGSTORE_WAIT=5
expect 0 on fw2 apply -m "fw1's changes while cut off" "$SCRATCH/diverged.apply"
assert_grep "^fw1: applied r$((r + 4)), restarted ntpd" "$SCRATCH/out"
wait_for grep -q "listen on 10.0.1.3" "$SCRATCH/fw1/root/etc/ntpd.conf" ||
    fail "fw1 does not render the applied batch"
wait_head fw3 $((r + 4))
same fw2 fw1 fw3
stop fw1
stop fw2
stop fw3
ok "t4610"
