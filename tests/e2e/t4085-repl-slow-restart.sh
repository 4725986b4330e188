#!/bin/sh
# A restart on the replica that takes longer than the primary's 20 s wait
# for an answer: the replica says it is alive while it renders, so the
# session stays up and the commit is reported applied with the restart.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

step "fw1 and fw2; ntpd takes 24 s to restart on fw2"
two_nodes
guide_synced fw1 fw2
expect 0 on fw1 set service.ntpd.restart@fw2 "sleep 24"
r=$((r + 1))

step "a commit that restarts it: applied, the session never dropped"
CFGSTORE_WAIT=40 expect 0 on fw1 set ntpd.listen@fw2 10.0.0.55
cat "$SCRATCH/out"
assert_grep "^fw2: applied r$((r + 1)), restarted ntpd$" "$SCRATCH/out"
assert_no_grep "fw2: disconnected" "$SCRATCH/fw1.log"
assert_grep "fw2: still rendering" "$SCRATCH/fw1.log"
ok "t4085"
