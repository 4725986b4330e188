#!/bin/sh
# fw1 and fw2 in two network namespaces joined by a veth pair, like the
# dedicated sync link.  The link is cut while fw1 keeps committing: no
# commit is blocked or undone, each says fw2 will catch up; once the link
# is back fw2 catches up and both hold the same history and state.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

if [ "$(id -u)" != 0 ]; then
	echo "SKIP: network namespaces need root"
	exit 77
fi
NSA=cfgA$$
NSB=cfgB$$
VA=cfa$$
VB=cfb$$
NET=10.$(($$ % 200 + 20)).$(($$ / 200 % 250)).
netns_cleanup() {
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}
trap 'cleanup; netns_cleanup' EXIT

step "two namespaces and a veth pair between them"
ip netns add "$NSA" && ip netns add "$NSB" || fail "ip netns add"
ip link add "$VA" type veth peer name "$VB" || fail "ip link add veth"
ip link set "$VA" netns "$NSA" && ip link set "$VB" netns "$NSB" ||
    fail "move veth"
ip -n "$NSA" addr add "${NET}1/24" dev "$VA"
ip -n "$NSB" addr add "${NET}2/24" dev "$VB"
for ns in "$NSA" "$NSB"; do
	ip -n "$ns" link set lo up
done
ip -n "$NSA" link set "$VA" up
ip -n "$NSB" link set "$VB" up

step "fw1 in one, fw2 in the other, replicating over the veth"
LISTEN_HOST=${NET}1 node_init fw1 --primary
LISTEN_HOST=${NET}2 node_init fw2
fw1_addr="${NET}1:$(cat "$SCRATCH/fw1/port")"
fw2_addr="${NET}2:$(cat "$SCRATCH/fw2/port")"
on fw1 peer add fw2 "$fw2_addr" "$(key fw2)" >/dev/null || fail "peer fw2"
on fw2 peer add fw1 "$fw1_addr" "$(key fw1)" >/dev/null || fail "peer fw1"
start fw1 ip netns exec "$NSA"
start fw2 ip netns exec "$NSB"
guide fw1 || { cat "$SCRATCH/out"; fail "guide"; }
r=$(head_of fw1)
assert_grep "^fw2: applied r$r, restarted" "$SCRATCH/out"

step "the link is cut; fw1 keeps committing, status 3, nothing lost"
ip -n "$NSA" link set "$VA" down
CFGSTORE_WAIT=2
for i in 1 2 3 4 5; do
	expect 3 on fw1 set -m "while cut $i" ntpd.listen@fw2 "10.0.0.$((20 + i))"
	assert_grep "^fw1: committed r$((r + i)), no change$" "$SCRATCH/out"
	assert_grep "^fw2: (unreachable|no answer yet), will catch up$" \
	    "$SCRATCH/out"
done
r=$((r + 5))
[ "$(head_of fw1)" = "$r" ] || fail "fw1 lost a commit"
[ "$(head_of fw2)" = "$((r - 5))" ] || fail "fw2 moved while cut off"
expect 4 on fw1 status
assert_grep "^  fw2 .* lag [1-5] commit" "$SCRATCH/out"

step "the link is back: fw2 catches up, renders, and agrees"
ip -n "$NSA" link set "$VA" up
wait_head fw2 $r 60
wait_for grep -q "listen on 10.0.0.25" "$SCRATCH/fw2/root/etc/ntpd.conf" ||
    fail "fw2 did not render r$r"
wait_for acked fw1 fw2 $r || fail "fw1 did not see the acknowledgement"
same fw1 fw2

step "and replicates at once again"
CFGSTORE_WAIT=5
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.30
assert_grep "^fw2: applied r$((r + 1)), restarted ntpd" "$SCRATCH/out"
stop fw1
stop fw2
ok "t4020"
