#!/bin/sh
# Catch-up batches are cut before a commit that would take them past the
# aimed-for size (4 MiB), so no message exceeds what a frame may carry: a
# 20 MiB commit between small ones, and a 62 MiB one after small ones and
# a 3 MiB one, each big one in a batch of its own.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

blobs() {
	"$BUILDDIR/tests/commit_blobs" "$(dir fw1)" "$1" "$2" > /dev/null ||
	    fail "commit_blobs $1"
}

step "fw1 and fw2 in step"
two_nodes
r=$(head_of fw1)
wait_head fw2 "$r"

step "fw2 down: three small commits, 20 MiB, two small, 3 MiB, 62 MiB"
stop fw2
commits 3
blobs $((20 << 10)) test.twenty
commits 2
blobs $((3 << 10)) test.three
blobs $((62 << 10)) test.big
h=$(head_of fw1)
[ "$h" = $((r + 8)) ] || fail "fw1 at r$h"

step "fw2 back: catches up, one batch per big commit"
start fw2
on fw1 set --no-wait test.kick 1 > /dev/null
h=$((h + 1))
wait_head fw2 "$h" 120
wait_for acked fw1 fw2 "$h" || fail "fw1 did not see the acknowledgement"
grep "fw2: sending" "$SCRATCH/fw1.log" | cut -d" " -f3-
assert_grep "fw2: sending r$((r + 1))\.\.r$((r + 3)) \(more\)$" "$SCRATCH/fw1.log"
assert_grep "fw2: sending r$((r + 4))\.\.r$((r + 4)) \(more\)$" "$SCRATCH/fw1.log"
assert_grep "fw2: sending r$((r + 5))\.\.r$((r + 7)) \(more\)$" "$SCRATCH/fw1.log"
assert_grep "fw2: sending r$((r + 8))\.\.r$((r + 8)) \(more\)$" "$SCRATCH/fw1.log"
assert_no_grep "exceeds the limit" "$SCRATCH/fw1.log"
same fw1 fw2
ok "t4035"
