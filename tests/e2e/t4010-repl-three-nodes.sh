#!/bin/sh
# One primary and two replicas: each commit is reported per node; one
# replica down does not hold back the other, and catches up on return.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

step "fw1 pushes to fw2; fw3 is added while the daemons run"
node_init fw1 --primary
node_init fw2
node_init fw3
pair fw1 fw2
start fw1
start fw2
on fw3 peer add fw1 "$(addr fw1)" "$(key fw1)" >/dev/null || fail "fw3"
start fw3
expect 0 on fw1 peer add fw3 "$(addr fw3)" "$(key fw3)"
wait_head fw3 "$(head_of fw1)"
assert_grep "fw3: connected" "$SCRATCH/fw1.log"
guide fw1 || { cat "$SCRATCH/out"; fail "guide"; }
r=$(head_of fw1)
assert_grep "^fw2: applied r$r, restarted" "$SCRATCH/out"
assert_grep "^fw3: applied r$r, restarted" "$SCRATCH/out"

step "one line per node, this node first, then peers by name"
restarts > /dev/null
expect 0 on fw1 set -m "fw3's own" ntpd.listen@fw3 10.0.0.4
r=$((r + 1))
assert_out "fw1: committed r$r, no change
fw2: applied r$r, no change
fw3: applied r$r, restarted ntpd"
assert_eq "$(restarts)" "fw3 ntpd" "restarts"
assert_grep "listen on 10.0.0.4" "$SCRATCH/fw3/root/etc/ntpd.conf"
assert_grep "listen on 10.0.0.3" "$SCRATCH/fw2/root/etc/ntpd.conf"

step "fw3 down: fw2 still applies at once; fw3 catches up later"
stop fw3
expect 3 on fw1 set ntpd.listen 10.0.0.1
r=$((r + 1))
assert_out "fw3: not checked (unreachable)
fw1: committed r$r, restarted ntpd
fw2: applied r$r, no change
fw3: unreachable, will catch up"
expect 3 on fw1 set ntpd.constraints 9.9.9.9
r=$((r + 1))
start fw3
wait_head fw3 $r
same fw1 fw2 fw3
expect 0 on fw1 set ntpd.constraints 9.9.9.10
r=$((r + 1))
assert_grep "^fw3: applied r$r, restarted ntpd" "$SCRATCH/out"
same fw1 fw2 fw3

step "peer del while running: fw1 stops pushing to fw3"
expect 0 on fw1 peer del fw3
expect 0 on fw1 set ntpd.constraints 9.9.9.11
r=$((r + 1))
assert_out "fw1: committed r$r, restarted ntpd
fw2: applied r$r, restarted ntpd"
sleep 0.5
[ "$(head_of fw3)" = "$((r - 1))" ] || fail "fw3 still gets commits"
ok "t4010"
