#!/bin/sh
# A confirmed commit that cuts the sync link by its own restart: fw1 and
# fw2 in two network namespaces joined by a veth pair; fw1's ntpd restart
# takes fw1's end of the link down when ntpd.conf listens on 10.0.0.66,
# and up again otherwise.  Unconfirmed, fw2 (killed and started again in
# the window) puts its files back by itself at its deadline, fw1 rolls
# back once, which brings the link back, and fw2 takes the rollback
# without restarting again.  Then a confirmation that reaches fw2 only
# after its deadline: fw2 renders the head again, nothing is rolled back.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"
. "$SRCDIR/tests/tools/netns-lib.sh"

step "two namespaces and a veth pair between them"
netns_up
link_state() { ip -n "$NSA" -o link show "$VA" | grep -q "state UP" && echo up || echo down; }
link_is() { [ "$(link_state)" = "$1" ]; }

step "fw1 and fw2, fw1's ntpd restart drives the link"
ns_pair
guide fw1 || { cat "$SCRATCH/out"; fail "guide"; }
cat > "$SCRATCH/linkctl" <<EOS
#!/bin/sh
echo "\$NODE ntpd" >> "$RESTARTS"
if grep -q "listen on 10.0.0.66" "$SCRATCH/fw1/root/etc/ntpd.conf"; then
	sleep 1; ip link set "$VA" down
else
	sleep 2; ip link set "$VA" up
fi
EOS
chmod +x "$SCRATCH/linkctl"
expect 0 on fw1 set service.ntpd.restart@fw1 "$SCRATCH/linkctl"
r=$(head_of fw1)
wait_head fw2 "$r"
assert_eq "$(link_state)" up "link"
: > "$RESTARTS"
ntp() { grep -c "listen on $2" "$SCRATCH/$1/root/etc/ntpd.conf"; }
has_ntp() { grep -q "listen on $2" "$SCRATCH/$1/root/etc/ntpd.conf"; }

step "a confirmed commit whose restart cuts the link"
cat > "$SCRATCH/cut.apply" <<EOS
set ntpd.listen 10.0.0.66
set ntpd.listen@fw2 10.0.0.67
EOS
t0=$(date +%s)
on fw1 apply --confirm 5s -m "cut" "$SCRATCH/cut.apply" > "$SCRATCH/out" 2>&1
case $? in 0|3) ;; *) cat "$SCRATCH/out"; fail "apply --confirm" ;; esac
assert_grep "^fw2: applied r$((r + 1)), restarted ntpd" "$SCRATCH/out"
wait_for link_is down || fail "the restart did not cut the link"
[ "$(ntp fw2 10.0.0.67)" = 1 ] || fail "fw2 did not render r$((r + 1))"

step "fw2 killed and started again in the window, cut off"
stop fw2 KILL
ns_start fw2
expect 4 on fw2 status
assert_grep "^  primary-unreachable " "$SCRATCH/out"
assert_grep "^confirm: r$((r + 1)) awaits confirmation until .*else back to r$r$" "$SCRATCH/out"

step "the deadline: fw2 reverts locally, fw1 rolls back and the link is back"
i=0
until on fw2 status 2>/dev/null | grep -q "reverted r$((r + 1)) locally"; do
	i=$((i + 1)); [ $i -lt 200 ] || { tail "$SCRATCH/fw2.log"; fail "fw2 did not revert"; }
	sleep 0.05
done
[ "$(head_of fw2)" = "$((r + 1))" ] || fail "fw2 wrote history"
wait_for has_ntp fw2 10.0.0.3 || fail "fw2's files are not r$r's"
# Degraded (exit 4) while it reverted, as long as the link is down.
rc=0; on fw2 status --json > "$SCRATCH/out" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 4 ] || fail "fw2: status --json exit $rc"
python3 -c 'import json,sys; j=json.load(sys.stdin); c=j["confirm"]; assert c["rev"]=='$((r + 1))' and c["reverted_locally"], c; assert j["healthy"] == ('$rc' == 0), j' < "$SCRATCH/out" ||
    fail "fw2: status --json"
assert_grep "reverted r$((r + 1)) locally" "$SCRATCH/fw2.log"
expect 0 on fw2 render
assert_grep "^r$((r + 1)) was reverted here: rendering r$r$" "$SCRATCH/out"
assert_grep "^no change" "$SCRATCH/out"
wait_head fw1 $((r + 2)) 5
wait_for has_ntp fw1 10.0.0.2 || fail "fw1's files are not r$r's"
elapsed=$(($(date +%s) - t0))
[ "$elapsed" -le 9 ] || fail "both back only after ${elapsed}s"
wait_for link_is up || { tail -30 "$SCRATCH/fw1.log"; cat "$RESTARTS"; fail "the rollback did not bring the link up"; }
wait_head fw2 $((r + 2)) 40
wait_for acked fw1 fw2 $((r + 2)) || fail "fw1 did not see fw2's ack"
for n in fw1 fw2; do
	[ "$(on $n log | grep -c "automatic rollback of r$((r + 1)): not confirmed")" = 1 ] ||
	    fail "$n: the automatic rollback is not in the history once"
	expect 0 on $n status
	assert_no_grep "^confirm:|reverted" "$SCRATCH/out"
done
[ "$(ntp fw2 10.0.0.3)" = 1 ] || fail "fw2's files moved"
same fw1 fw2
# fw1: cut, back; fw2: r+1, its own revert, and nothing for the rollback.
got=$(restarts)
[ "$got" = "fw1 ntpd,fw1 ntpd,fw2 ntpd,fw2 ntpd" ] || fail "restarts: $got"
r=$((r + 2))

step "a confirmation fw2 hears only after its deadline: the head again"
expect 0 on fw1 set --confirm 4s ntpd.listen@fw2 10.0.0.70
link_cut
sleep 2
CFGSTORE_WAIT=1 expect 3 on fw1 confirm
assert_grep "^fw1: committed r$((r + 2))" "$SCRATCH/out"
i=0
until on fw2 status 2>/dev/null | grep -q "reverted r$((r + 1)) locally"; do
	i=$((i + 1)); [ $i -lt 200 ] || { tail "$SCRATCH/fw2.log"; fail "fw2 did not revert"; }
	sleep 0.05
done
wait_for has_ntp fw2 10.0.0.3 || fail "fw2's files are not r$r's"
link_back
wait_head fw2 $((r + 2)) 40
wait_for has_ntp fw2 10.0.0.70 || fail "fw2 did not render the head again"
sleep 1
[ "$(head_of fw1)" = "$((r + 2))" ] || fail "fw1 rolled back a confirmed commit"
assert_no_grep "automatic rollback of r$((r + 1))" "$SCRATCH/fw1.log"
expect 0 on fw2 status
assert_no_grep "^confirm:|reverted" "$SCRATCH/out"
same fw1 fw2
got=$(restarts)
[ "$got" = "fw2 ntpd,fw2 ntpd,fw2 ntpd" ] || fail "restarts: $got"

stop fw1
stop fw2
ok "t3310"
