#!/bin/sh
# A peer that refuses our change sets (nack rejected) is a failure, said
# at once for that node and in status, not "will catch up"; and it is
# retried after a growing pause, not at every commit.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

HOSTILE="$BUILDDIR/tests/hostile_peer"

step "fw1 pushes to fw2, where a replica refuses every change set"
node_init fw1 --primary
node_init fw2
pair fw1 fw2
"$HOSTILE" -k "$(dir fw2)" "$(addr fw2)" nacker 10 > "$SCRATCH/nacker.out" &
nacker=$!
test_pids="$test_pids $nacker"
wait_for grep -q listening "$SCRATCH/nacker.out" || fail "nacker"
start fw1

step "a commit: fw2 is reported as refusing it, status 3"
expect 3 on fw1 set ntpd.servers pool.ntp.org
cat "$SCRATCH/out"
assert_grep "^fw2: refused \(rejected\): nacker\?refuses" "$SCRATCH/out"
assert_no_grep "will catch up" "$SCRATCH/out"
expect 4 on fw1 status
assert_grep "last error at .*: refused \(rejected\): nacker" "$SCRATCH/out"

step "more commits do not make fw1 retry at once"
for i in 1 2 3 4 5 6 7 8 9 10; do
	on fw1 set --no-wait test.n "$i" > /dev/null
	sleep 0.2
done
wait "$nacker"
cat "$SCRATCH/nacker.out"
n=$(sed -n 's/^nacker: \([0-9]*\) connections.*/\1/p' "$SCRATCH/nacker.out")
# 1 s, 2 s, 4 s apart: about 4 in 10 s, against one per commit.
[ "$n" -ge 2 ] && [ "$n" -le 5 ] || fail "$n connections in 10 s"
assert_grep "fw2: refused our commits \(rejected\)" "$SCRATCH/fw1.log"

step "the peer's text reached log and status without its control bytes"
# It sent "nacker<TAB>refuses<ESC>[2J everything".
assert_grep "refused our commits \(rejected\): nacker\?refuses\?\[2J everything" \
    "$SCRATCH/fw1.log"
expect 4 on fw1 status
assert_grep "refused \(rejected\): nacker\?refuses\?\[2J" "$SCRATCH/out"
esc=$(printf '\033')
! grep -q "$esc" "$SCRATCH/fw1.log" "$SCRATCH/out" ||
    fail "an escape sequence reached the log or status"
ok "t4075"
