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

step "requests that are not quite one are refused, nothing done"
for req in "commit 1 2 3" "commit -1 5" "commit 1x 5" "commit  1 5" \
    "commit 99999999999999999999 5" "status now" "reload " "end"; do
	python3 - "$(dir fw1)/serve.sock" "$req" > "$SCRATCH/reply" <<-EOS || fail "$req"
	import socket, sys
	s = socket.socket(socket.AF_UNIX)
	s.connect(sys.argv[1])
	s.sendall(sys.argv[2].encode() + b"\\n")
	print(s.makefile().read(), end="")
	EOS
	assert_eq "$(cat "$SCRATCH/reply")" "$(printf 'error\tunknown request')" \
	    "answer to '$req'"
done
assert_eq "$(head_of fw1)" "$((r + N))" "head"
stop fw1
stop fw2
ok "t4110"
