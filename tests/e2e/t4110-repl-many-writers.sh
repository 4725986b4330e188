#!/bin/sh
# More writers at once than the daemon serves control clients at once:
# the others wait their turn, and every one hears the truth about its
# commit (applied on fw2), none "the daemon did not answer".
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

N=40

step "fw1 and fw2 in step"
two_nodes
guide_synced fw1 fw2

step "$N writers at once"
i=0
writers=""
while [ $i -lt $N ]; do
	i=$((i + 1))
	( CFGSTORE_WAIT=60 on fw1 set "bench.w$i" "v$i" \
	    > "$SCRATCH/w$i.out" 2>&1; echo $? > "$SCRATCH/w$i.rc" ) &
	writers="$writers $!"
done
for w in $writers; do wait "$w"; done
i=0
while [ $i -lt $N ]; do
	i=$((i + 1))
	rc=$(cat "$SCRATCH/w$i.rc")
	[ "$rc" = 0 ] || { cat "$SCRATCH/w$i.out"; fail "writer $i: exit $rc"; }
	assert_grep "^fw2: applied r[0-9]+" "$SCRATCH/w$i.out"
done
assert_no_grep "too many clients" "$SCRATCH/fw1.log"
wait_head fw2 $((r + N))
same fw1 fw2
stop fw1
stop fw2
ok "t4110"
