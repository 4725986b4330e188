#!/bin/sh
# Confirmed commits on two nodes over loopback: bad durations and a
# confirm with nothing waiting write nothing; a commit confirmed in time
# stays; a second confirmed commit extends the window, and without a
# confirmation the primary rolls both back by itself, once, to the state
# before the first, on every node; every write takes --confirm; a
# primary killed and started again inside the window still rolls back
# at the deadline; a replica down for all of it catches up on both
# without a wait or a restart.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

two_nodes
guide_synced fw1 fw2
ntp() { grep -c "listen on $2" "$SCRATCH/$1/root/etc/ntpd.conf"; }
has_ntp() { grep -q "listen on $2" "$SCRATCH/$1/root/etc/ntpd.conf"; }
rollbacks() { on fw1 log | grep -c "automatic rollback of r$1: not confirmed"; }

step "bad durations: exit 2, one line, nothing written"
for d in 0 5x s "" -1 1.5m 90000 25h 1m2; do
	expect 2 on fw1 set --confirm "$d" ntpd.listen@fw2 10.0.0.9
	assert_err_line "invalid duration"
done
expect 2 on fw1 del --confirm 0 ntpd.listen@fw2
assert_err_line "invalid duration"
[ "$(head_of fw1)" = "$r" ] || fail "a bad duration wrote r$(head_of fw1)"
[ "$(head_of fw2)" = "$r" ] || fail "fw2 moved"

step "confirm with nothing waiting: exit 5, one line, nothing written"
expect 5 on fw1 confirm
assert_err_line "nothing to confirm"
expect 5 on fw2 confirm
assert_err_line "nothing to confirm"
expect 2 on fw1 confirm r9
expect 2 on fw1 confirm --confirm 5m
expect 2 on fw1 confirm --force
[ "$(head_of fw1)" = "$r" ] || fail "confirm wrote r$(head_of fw1)"
expect 0 on fw1 status
assert_no_grep "^confirm:" "$SCRATCH/out"
: > "$RESTARTS"

step "a confirmed commit, confirmed in time, stays"
expect 0 on fw1 set --confirm 3s -m "try .40" ntpd.listen@fw2 10.0.0.40
assert_grep "^fw2: applied r$((r + 1)), restarted ntpd" "$SCRATCH/out"
expect 0 on fw1 log -n 1
assert_grep "\[--confirm 3s\]" "$SCRATCH/out"
for n in fw1 fw2; do
	expect 0 on $n status
	assert_grep "^confirm: r$((r + 1)) awaits confirmation until .* left\), else back to r$r$" "$SCRATCH/out"
	expect 0 on $n status --json
	python3 -c 'import json,sys; c=json.load(sys.stdin)["confirm"]; assert c["rev"]=='$((r + 1))' and c["base"]=='$r' and c["window"]==3 and 0<c["seconds_left"]<=3 and c["reverted_locally"] is None, c' < "$SCRATCH/out" ||
	    fail "$n: status --json confirm"
done
expect 0 on fw1 confirm
assert_grep "^fw2: applied r$((r + 2))" "$SCRATCH/out"
expect 0 on fw1 log -n 1
assert_grep "r$((r + 2)) .*confirm r$((r + 1)) +\[confirms\]$" "$SCRATCH/out"
expect 0 on fw1 show --json $((r + 2))
assert_grep '"confirms": true' "$SCRATCH/out"
assert_grep '"ops": \[\]' "$SCRATCH/out"
r=$((r + 2))
wait_head fw2 $r
sleep 4
[ "$(head_of fw1)" = "$r" ] || fail "fw1 moved after the confirmation"
[ "$(ntp fw2 10.0.0.40)" = 1 ] || fail "fw2's files were reverted"
expect 0 on fw2 status
assert_no_grep "^confirm:" "$SCRATCH/out"
expect 5 on fw1 confirm
assert_err_line "nothing to confirm"
assert_no_grep "reverted" "$SCRATCH/fw2.log"
same fw1 fw2
got=$(restarts)
[ "$got" = "fw2 ntpd" ] || fail "restarts: $got"

step "a second confirmed commit extends the window; unconfirmed, both go"
expect 0 on fw1 set --confirm 2s ntpd.listen@fw2 10.0.0.41
expect 0 on fw1 set --confirm 5s ntpd.listen@fw2 10.0.0.42
wait_head fw2 $((r + 2))
sleep 3
[ "$(head_of fw1)" = "$((r + 2))" ] || fail "reverted on the first window"
[ "$(ntp fw2 10.0.0.42)" = 1 ] || fail "fw2 reverted on the first window"
wait_head fw1 $((r + 3)) 6
wait_head fw2 $((r + 3)) 6
[ "$(rollbacks $((r + 2)))" = 1 ] || fail "no rollback of r$((r + 2)) in the log"
expect 0 on fw1 diff $r $((r + 3))
[ ! -s "$SCRATCH/out" ] || { out; fail "r$((r + 3)) is not r$r's state"; }
wait_for has_ntp fw2 10.0.0.40 || fail "fw2's files not back"
[ "$(ntp fw1 10.0.0.2)" = 1 ] || fail "fw1's files changed"
assert_grep "r$((r + 3)): automatic rollback of r$((r + 2)): not confirmed" "$SCRATCH/fw1.log"
sleep 1.5
[ "$(head_of fw1)" = "$((r + 3))" ] || fail "a second rollback"
same fw1 fw2
# fw2 restarted ntpd for .41, .42 and once to go back.
got=$(restarts)
[ "$got" = "fw2 ntpd,fw2 ntpd,fw2 ntpd" ] || fail "restarts: $got"
expect 0 on fw1 status
assert_no_grep "^confirm:" "$SCRATCH/out"
r=$((r + 3))

step "every write takes --confirm; one confirm makes them all final"
cat > "$SCRATCH/ed" <<'EOS'
#!/bin/sh
sed -i 's/10.0.0.40/10.0.0.48/' "$1"
EOS
chmod +x "$SCRATCH/ed"
printf 'set bench.a 1\n' > "$SCRATCH/a.apply"
printf 'set bench.a 2\nset bench.b 2\n' > "$SCRATCH/b.apply"
k=$r
for w in "set --confirm 10m bench.x 1" "del --confirm 10m bench.x" \
    "apply --confirm 10 $SCRATCH/a.apply" \
    "apply --confirm 1h --replace bench $SCRATCH/b.apply" \
    "rollback -y --confirm 30s -N 1" "edit -y --confirm 2m ntpd"; do
	k=$((k + 1))
	EDITOR="$SCRATCH/ed" expect 0 on fw1 $w
	expect 0 on fw1 log -n 1
	assert_grep "^r$k .*\[--confirm [0-9]+s\]$" "$SCRATCH/out"
done
on fw1 log -n 6 | grep -o "\[--confirm [0-9]*s\]" | tr '\n' ' ' > "$SCRATCH/windows"
assert_eq "$(cat "$SCRATCH/windows")" "[--confirm 120s] [--confirm 30s] [--confirm 3600s] [--confirm 600s] [--confirm 600s] [--confirm 600s] " "windows"
expect 0 on fw1 status
assert_grep "^confirm: r$k awaits confirmation until .*\(1 min|[0-9]+ s left\), else back to r$r$" "$SCRATCH/out"
expect 0 on fw1 confirm -m "all good"
assert_grep "^fw2: applied r$((k + 1))" "$SCRATCH/out"
wait_for has_ntp fw2 10.0.0.48 || fail "fw2 lacks the edit"
r=$((k + 1))
wait_head fw2 $r
same fw1 fw2
: > "$RESTARTS"

step "the primary killed and started again inside the window still reverts"
expect 0 on fw1 set --confirm 4s ntpd.listen@fw2 10.0.0.43
stop fw1 KILL
sleep 1
start fw1
wait_head fw1 $((r + 2)) 8
on fw1 log --json -n 2 > "$SCRATCH/log.json"
python3 -c '
import json, sys
from datetime import datetime
l = json.load(open(sys.argv[1]))
t = [datetime.strptime(c["time"], "%Y-%m-%dT%H:%M:%SZ").timestamp() for c in l]
assert l[1]["confirm_window"] == 4 and l[0]["message"].startswith("automatic rollback"), l
d = t[0] - t[1]
assert 4 <= d <= 7, d
' "$SCRATCH/log.json" || { cat "$SCRATCH/log.json"; fail "rollback not at the deadline"; }
wait_head fw2 $((r + 2))
wait_for has_ntp fw2 10.0.0.48 || fail "fw2's files not back"
same fw1 fw2

r=$((r + 2))

step "fw2 down for all of it: it catches up on both and restarts nothing"
stop fw2
: > "$RESTARTS"
CFGSTORE_WAIT=1 expect 3 on fw1 set --confirm 2s ntpd.listen@fw2 10.0.0.44
wait_head fw1 $((r + 2)) 6
: > "$SCRATCH/fw2.log"
start fw2
wait_head fw2 $((r + 2))
wait_for acked fw1 fw2 $((r + 2)) || fail "fw1 did not see fw2's ack"
assert_grep "applied r$((r + 2)), no change" "$SCRATCH/fw1.log"
assert_no_grep "awaits confirmation|reverted" "$SCRATCH/fw2.log"
got=$(restarts)
[ "$got" = "" ] || fail "restarts: $got"
same fw1 fw2

stop fw1
stop fw2
ok "t3300"
