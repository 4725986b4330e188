#!/bin/sh
# A network process that sends the daemon a malformed or out-of-order
# message of each type (tests/tools/hostile_net.c, run in its place by
# serve_hooked): each is refused, the process is killed and another one
# started, and nothing is written to the store.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

HOOKED="$BUILDDIR/tests/serve_hooked"
HOSTILE_NET="$BUILDDIR/tests/hostile_net"

step "fw2, a replica of fw1 (which does not run)"
node_init fw1 --primary
node_init fw2
pair fw1 fw2
store_fingerprint "$(dir fw2)" > "$SCRATCH/fp.before"

for mode in sign-commit sign-long up-short up-noname up-twice \
    up-undialled down-empty down-long frame-notup frame-empty frame-huge \
    unknown init ready-twice; do
	step "$mode: refused, killed, started again"
	: > "$SCRATCH/pids"
	: > "$SCRATCH/fw2.log"
	HOSTILE_NET_MODE=$mode HOSTILE_NET_PIDS="$SCRATCH/pids" \
	    "$HOOKED" "$(dir fw2)" "$SCRATCH/fw2/root" "$HOSTILE_NET" \
	    >> "$SCRATCH/fw2.log" 2>&1 &
	echo $! > "$SCRATCH/fw2/pid"
	test_pids="$test_pids $!"
	wait_for sh -c "[ \$(grep -c 'misbehaved' '$SCRATCH/fw2.log') -ge 2 ]" ||
	    { cat "$SCRATCH/fw2.log"; fail "$mode: not refused twice"; }
	grep -m1 "misbehaved" "$SCRATCH/fw2.log"
	first=$(head -1 "$SCRATCH/pids")
	[ "$(sort -u "$SCRATCH/pids" | wc -l)" -ge 2 ] ||
	    fail "$mode: not started again"
	kill -0 "$first" 2>/dev/null && fail "$mode: the first one lives on"
	kill -0 "$(pid fw2)" || fail "$mode: the daemon died"
	expect 4 on fw2 status
	stop fw2
done

step "nothing was written"
expect 0 on fw2 verify
store_fingerprint "$(dir fw2)" > "$SCRATCH/fp.after"
cmp -s "$SCRATCH/fp.before" "$SCRATCH/fp.after" ||
    { diff "$SCRATCH/fp.before" "$SCRATCH/fp.after"; fail "the store changed"; }
assert_eq "$(head_of fw2)" "0" "head"
ok "t4510"
