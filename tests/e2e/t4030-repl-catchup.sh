#!/bin/sh
# A replica down for 1,000 commits catches up from the primary's history
# in batches; killed with SIGKILL in the middle of a catch-up and
# restarted, it still ends with the same history and state, verified.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

# commits N: N commits on fw1 setting test.counter to 0..N-1, made in one
# process (commit_many), the daemon told of the last one only.
commits() {
	"$BUILDDIR/tests/commit_many" "$(dir fw1)" "$1" test.counter \
	    > /dev/null || fail "commit_many"
}

step "fw1 and fw2 in step"
node_init fw1 --primary
node_init fw2
pair fw1 fw2
start fw1
start fw2
guide fw1 || { cat "$SCRATCH/out"; fail "guide"; }
wait_head fw2 "$(head_of fw1)"

step "fw2 down while fw1 makes 1,000 commits"
stop fw2
commits 1000
r=$(head_of fw1)
echo "fw1 at r$r, fw2 at r$(head_of fw2)"

step "fw2 back: caught up in batches, then verified equal"
start fw2
wait_head fw2 $r 60
wait_for acked fw1 fw2 $r || fail "fw1 did not see the acknowledgement"
same fw1 fw2
# One change set of up to 2,048 commits, applied in one transaction.
assert_grep "fw2: sending r3\.\.r1002$" "$SCRATCH/fw1.log"
expect 0 on fw2 get test.counter
assert_out "999"

step "SIGKILL in the middle of a catch-up, restarted: consistent"
stop fw2
commits 1001
start fw2
# A commit makes fw1 try at once rather than after its back-off.
on fw1 set --no-wait test.kick 1 > /dev/null
r=$(head_of fw1)
wait_for grep -q "fw1: connected, we are at r1002 of r$r" "$SCRATCH/fw2.log" ||
    fail "no catch-up started"
stop fw2 KILL
echo "fw2 killed at r$(head_of fw2) of r$r"
start fw2
wait_head fw2 $r 60
same fw1 fw2
expect 0 on fw2 get test.counter
assert_out "1000"
ok "t4030"
