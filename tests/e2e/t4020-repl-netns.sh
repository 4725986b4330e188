#!/bin/sh
# fw1 and fw2 in two network namespaces joined by a veth pair, like the
# dedicated sync link.  The link is cut while fw1 keeps committing: no
# commit is blocked or undone, each says fw2 will catch up; once the link
# is back fw2 catches up and both hold the same history and state.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"
. "$SRCDIR/tests/tools/netns-lib.sh"

step "two namespaces and a veth pair between them"
netns_up

step "fw1 in one, fw2 in the other, replicating over the veth"
ns_pair
guide fw1 || { cat "$SCRATCH/out"; fail "guide"; }
r=$(head_of fw1)
assert_grep "^fw2: applied r$r, restarted" "$SCRATCH/out"

step "the link is cut; fw1 keeps committing, status 3, nothing lost"
link_cut
CFGSTORE_WAIT=2
for i in 1 2 3 4 5; do
	expect 3 on fw1 set -m "while cut $i" ntpd.listen@fw2 "10.0.0.$((20 + i))"
	assert_grep "^fw1: committed r$((r + i)), no change$" "$SCRATCH/out"
	assert_grep "^fw2: (unreachable|no answer yet), will catch up$" \
	    "$SCRATCH/out"
done
r=$((r + 5))
[ "$(head_of fw1)" = "$r" ] || fail "fw1 lost a commit"
[ "$(head_of fw2)" = "$((r - 5))" ] || fail "fw2 moved while cut off"
expect 4 on fw1 status
assert_grep "^  fw2 .* lag [1-5] commit" "$SCRATCH/out"

step "the link is back: fw2 catches up, renders, and agrees"
link_back
wait_head fw2 $r 60
wait_for grep -q "listen on 10.0.0.25" "$SCRATCH/fw2/root/etc/ntpd.conf" ||
    fail "fw2 did not render r$r"
wait_for acked fw1 fw2 $r || fail "fw1 did not see the acknowledgement"
same fw1 fw2

step "and replicates at once again"
CFGSTORE_WAIT=5
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.30
assert_grep "^fw2: applied r$((r + 1)), restarted ntpd" "$SCRATCH/out"
stop fw1
stop fw2
ok "t4020"
