#!/bin/sh
# A replica down for 1,000 commits catches up from the primary's history
# in batches (fw1 runs with batches of 100 commits, CFGSTORE_TEST_BATCH);
# killed with SIGKILL in the middle of a catch-up, after some batches were
# applied and before the last, and restarted, it still ends with the same
# history and state, verified.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

step "fw1 and fw2 in step"
node_init fw1 --primary
node_init fw2
pair fw1 fw2
start fw1 env CFGSTORE_TEST_BATCH=100
start fw2
guide fw1 || { cat "$SCRATCH/out"; fail "guide"; }
wait_head fw2 "$(head_of fw1)"

step "fw2 down while fw1 makes 1,000 commits"
stop fw2
commits 1000
r=$(head_of fw1)
echo "fw1 at r$r, fw2 at r$(head_of fw2)"

step "fw2 back: caught up in ten batches, then verified equal"
start fw2
wait_head fw2 $r 60
wait_for acked fw1 fw2 $r || fail "fw1 did not see the acknowledgement"
same fw1 fw2
grep "fw2: sending r" "$SCRATCH/fw1.log" | cut -d' ' -f3-
# Each of up to 100 commits, applied in one transaction each.
assert_grep "fw2: sending r3\.\.r102 \(more\)$" "$SCRATCH/fw1.log"
assert_grep "fw2: sending r903\.\.r1002$" "$SCRATCH/fw1.log"
n=$(grep -c "fw2: sending r[0-9]*\.\.r[0-9]* (more)$" "$SCRATCH/fw1.log")
[ "$n" -eq 9 ] || fail "$n batches with more to come, expected 9"
assert_grep "fw1: applied 100 of 100 commits, head r502, more to come" \
    "$SCRATCH/fw2.log"
expect 0 on fw2 get test.counter
assert_out "999"

step "SIGKILL in the middle of a catch-up, restarted: consistent"
# Batches of one commit make the catch-up long enough to be cut; should
# it still finish first, it is tried again with more commits.
stop fw1
start fw1 env CFGSTORE_TEST_BATCH=1
wait_for acked fw1 fw2 $r || fail "fw1 did not reconnect"
cut=""
for try in 1 2 3; do
	stop fw2
	start_rev=$(head_of fw2)
	commits 1000
	r=$(head_of fw1)
	lines=$(wc -l < "$SCRATCH/fw2.log")
	start fw2
	# A commit makes fw1 try at once rather than after its back-off.
	on fw1 set --no-wait test.kick "$try" > /dev/null
	r=$((r + 1))
	wait_for sh -c "tail -n +$((lines + 1)) '$SCRATCH/fw2.log' |
	    grep -q 'applied 1 of 1 commit, head r$((start_rev + 20)), more to come'" ||
	    fail "no catch-up started"
	stop fw2 KILL
	h=$(head_of fw2)
	echo "fw2 killed at r$h, between r$start_rev and r$r"
	if [ "$h" -gt "$start_rev" ] && [ "$h" -lt "$r" ]; then
		cut=$h
		break
	fi
done
[ -n "$cut" ] || fail "the catch-up could not be cut short"
start fw2
wait_head fw2 $r 60
wait_for acked fw1 fw2 $r || fail "fw1 did not see the acknowledgement"
same fw1 fw2
expect 0 on fw2 get test.counter
assert_out "999"
ok "t4030"
