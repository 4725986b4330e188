#!/bin/sh
# fw1 and fw2 in two network namespaces joined by a veth pair.  The link
# goes down with the session still up as far as fw1 knows: a write waits
# for fw2's verdict no longer than CFGSTORE_PREPARE_WAIT, commits, says
# fw2 was not checked, exit 3; once the link is back fw2 catches up and
# checks (and refuses) for itself again.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"
. "$SRCDIR/tests/tools/netns-lib.sh"

nodechecks

step "two namespaces and a veth pair between them"
netns_up

step "fw1 in one, fw2 in the other; fw2 refuses what is not its own"
ns_pair env PATH="$SCRATCH/bin2:$PATH"
guide_synced fw1 fw2
expect 0 on fw1 set service.ntpd.check "nodecheck {}"
r=$((r + 1))
expect 2 on fw1 set ntpd.listen@fw2 10.0.0.66
assert_grep '^cfgstore: fw2: ntpd: /etc/ntpd.conf: .*10.0.0.66 is not an address of this host$' \
    "$SCRATCH/err"

step "the link is cut: the write waits at most the deadline, commits, exit 3"
link_cut
CFGSTORE_WAIT=2
CFGSTORE_PREPARE_WAIT=3
export CFGSTORE_PREPARE_WAIT
start_s=$(date +%s)
expect 3 on fw1 set ntpd.listen@fw2 10.0.0.66
took=$(($(date +%s) - start_s))
r=$((r + 1))
[ "$took" -le 8 ] || fail "took $took s for a 3 s deadline and a 2 s wait"
assert_grep '^fw2: not checked \((no verdict in 3.0 s|unreachable|connection lost: .*)\)$' \
    "$SCRATCH/out"
assert_grep "^fw1: committed r$r" "$SCRATCH/out"
assert_grep "^fw2: (unreachable|no answer yet), will catch up$" "$SCRATCH/out"
[ "$(head_of fw1)" = "$r" ] || fail "fw1 did not commit"
[ "$(head_of fw2)" = "$((r - 1))" ] || fail "fw2 moved while cut off"
expect 3 on fw1 set ntpd.listen@fw2 10.0.0.3
r=$((r + 1))
assert_grep '^fw2: not checked \(' "$SCRATCH/out"

step "the link is back: fw2 catches up and checks for itself again"
link_back
wait_head fw2 $r 60
wait_for acked fw1 fw2 $r || fail "fw1 did not see the acknowledgement"
CFGSTORE_PREPARE_WAIT=20
expect 2 on fw1 set ntpd.listen@fw2 10.0.0.66
assert_grep '^cfgstore: fw2: ntpd: ' "$SCRATCH/err"
same fw1 fw2
stop fw1
stop fw2
ok "t3410"
