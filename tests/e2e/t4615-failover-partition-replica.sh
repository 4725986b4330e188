#!/bin/sh
# A partition that leaves a replica with the old primary.  fw1 (primary)
# and fw3 in one network namespace, fw2 in the other.  Cut off, fw1
# commits and fw3 applies; fw2 is promoted and commits.  Once the link is
# back, fw1 is fenced and fw3, a replica of the old epoch, follows fw2 as
# well: the commits it had received from fw1 move to its own diverged
# branch, and both take and render fw2's history.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"
. "$SRCDIR/tests/tools/netns-lib.sh"

step "fw1 and fw3 in one namespace, fw2 in the other"
netns_up
ns_init fw1 A --primary
ns_init fw2 B
ns_init fw3 A
three_synced ns_start

step "cut off with fw1, fw3 applies fw1's commits"
link_cut
CFGSTORE_WAIT=2
for i in 1 2; do
	expect 3 on fw1 set -m "fw1 cut off $i" ntpd.listen@fw3 "10.0.1.$i"
	assert_grep "^fw3: applied r$((r + i)), restarted ntpd" "$SCRATCH/out"
done
grep -q "listen on 10.0.1.2" "$SCRATCH/fw3/root/etc/ntpd.conf" ||
    fail "fw3 did not render fw1's commits"

step "fw2 is promoted alone and commits"
expect 3 on fw2 promote
assert_grep "^fw2: promoted to primary, epoch 2, r$((r + 1))$" "$SCRATCH/out"
expect 3 on fw2 set -m "fw2 alone" ntpd.listen@fw3 10.0.2.3

step "the link is back: fw3 and fw1 both follow fw2"
link_back
wait_secs 30 last_commit "fw2 alone" fw3 fw1 ||
    { tail -20 "$SCRATCH/fw3.log"; fail "fw3 and fw1 did not follow fw2"; }
assert_grep "fw2: took its history from its promote on: 2 commits of ours moved to the diverged branch" \
    "$SCRATCH/fw3.log"
assert_grep "fw1: fenced: " "$SCRATCH/fw1.log"
wait_for grep -q "listen on 10.0.2.3" "$SCRATCH/fw3/root/etc/ntpd.conf" ||
    fail "fw3 does not render fw2's history"
same fw2 fw1 fw3
for n in fw1 fw3; do
	expect 0 on $n log --diverged
	[ "$(grep -c '^diverged:1:' "$SCRATCH/out")" = 2 ] ||
	    { out; fail "$n: log --diverged"; }
	assert_grep "^diverged:1:$((r + 2)) .*fw1 cut off 2$" "$SCRATCH/out"
done
expect 4 on fw3 status
assert_grep "^primary: fw2, epoch 2, connected$" "$SCRATCH/out"
assert_grep "^  diverged +2 commits moved to the diverged branch" "$SCRATCH/out"
expect 1 on fw1 set ntpd.listen@fw3 10.0.1.9
assert_err_line "write on the primary.*fw2"
expect 0 on fw2 set ntpd.listen@fw3 10.0.2.4
assert_grep "^fw3: applied r$((r + 3)), restarted ntpd" "$SCRATCH/out"
assert_grep "^fw1: applied r$((r + 3))" "$SCRATCH/out"
stop fw1
stop fw2
stop fw3
ok "t4615"
