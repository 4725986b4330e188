#!/bin/sh
# The CARP demotion counter is raised, through the commands of
# carp.demote.raise and carp.demote.lower run as real processes, while a
# replica catches up 1,000 commits in 100 batches, and lowered once it
# has rendered the last: exactly once each.  Status says degraded
# (exit 4) while it is behind and demoted, healthy (0) after.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"
. "$SRCDIR/tests/tools/carp-lib.sh"

step "fw1 and fw2 in step, the demotion commands set"
carp_in_step 10
health fw1 0
health fw2 0
assert_eq "$(carp_lines fw2)" "" "fw2 in step: nothing raised"

step "fw2 down: fw1 degraded, the peer unreachable and behind"
stop fw2
commits 1000
r=$(head_of fw1)
wait_for has_reason fw1 peer-unreachable || fail "fw2 not seen unreachable"
health fw1 4 peer-unreachable peer-behind
assert_grep "fw2 lacks 1000 commits" "$SCRATCH/out"
health fw2 4 daemon

step "fw2 back: raised during the catch-up, lowered after its render"
lines=$(wc -l < "$SCRATCH/fw2.log")
start fw2
# A commit makes fw1 try at once rather than after its back-off.
on fw1 set --no-wait test.kick 1 > /dev/null
r=$((r + 1))
wait_for grep -q "raise 50" "$CARP_LOG" || fail "not raised"
h=$(head_of fw2)
[ "$h" -lt "$r" ] || echo "fw2 was at r$h when seen raised (of r$r)"
wait_head fw2 "$r" 60
wait_for grep -q "lower 50" "$CARP_LOG" || fail "not lowered"
assert_eq "$(carp_lines fw2)" "raise 50,lower 50" "fw2's commands"
assert_eq "$(carp_lines fw1)" "" "fw1's commands"
tail -n +$((lines + 1)) "$SCRATCH/fw2.log" > "$SCRATCH/log2"
raised=$(grep -n "carp demotion raised" "$SCRATCH/log2" | cut -d: -f1)
applied=$(grep -n "fw1: applied r$r," "$SCRATCH/log2" | cut -d: -f1)
lowered=$(grep -n "carp demotion lowered" "$SCRATCH/log2" | cut -d: -f1)
[ -n "$raised" ] && [ -n "$applied" ] && [ -n "$lowered" ] ||
    { cat "$SCRATCH/log2"; fail "raise, apply, lower not all logged"; }
[ "$raised" -lt "$applied" ] && [ "$applied" -lt "$lowered" ] ||
    { cat "$SCRATCH/log2"; fail "not raised, applied, lowered in order"; }
assert_grep "carp demotion raised \($SCRATCH/carp raise 50\): behind the primary: r[0-9]+ of r[0-9]+" \
    "$SCRATCH/log2"
assert_grep "carp demotion lowered \($SCRATCH/carp lower 50\): configuration trusted again" \
    "$SCRATCH/log2"
health fw2 0
wait_for acked fw1 fw2 "$r" || fail "fw1 did not see the acknowledgement"
health fw1 0
same fw1 fw2

step "status while behind: degraded, behind and demoted"
# Batches of one commit, so that the catch-up lasts long enough to look.
stop fw1
start fw1 env CFGSTORE_TEST_BATCH=1
wait_for acked fw1 fw2 "$r" || fail "fw1 did not reconnect"
stop fw2
commits 1000
start fw2
on fw1 set --no-wait test.kick 2 > /dev/null
r=$(head_of fw1)
seen=""
while [ "$(head_of fw2)" -lt "$r" ]; do
	on fw2 status --json > "$SCRATCH/st.json"
	if python3 - "$SCRATCH/st.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
got = set(x["reason"] for x in s["reasons"])
sys.exit(0 if {"behind", "demoted"} <= got and not s["healthy"]
         and s["carp"]["demoted"] else 1)
PY
	then
		seen=1
		break
	fi
	sleep 0.05
done
[ -n "$seen" ] || fail "status never said behind and demoted during the catch-up"
wait_head fw2 "$r" 60
wait_for sh -c "[ \"\$(grep -c '^fw2 lower' '$CARP_LOG')\" = 2 ]" ||
    fail "not lowered after the second catch-up"
assert_eq "$(carp_lines fw2)" "raise 50,lower 50,raise 50,lower 50" \
    "fw2's commands"
health fw2 0
grep -h "carp demotion" "$SCRATCH/fw2.log"
ok "t4700"
