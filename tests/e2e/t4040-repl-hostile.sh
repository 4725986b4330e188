#!/bin/sh
# Hostile clients against a replica: each attack is refused with a logged
# reason.  One snapshot and one memory reading are taken before the first
# attack and compared after the last: nothing but the real primary's
# commits reached the store, no rendered file changed, no service was
# restarted, the daemon's memory stayed bounded.  The real primary keeps
# committing while part of the attacks run, and each of its commits is
# applied.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

HOSTILE="$BUILDDIR/tests/hostile_peer"

step "fw1 and fw2 replicating; evil is a peer fw2 trusts, rogue nobody does"
node_init fw1 --primary
node_init fw2
node_init evil
node_init rogue
pair fw1 fw2
on fw2 peer add evil "$(addr evil)" "$(key evil)" >/dev/null || fail "evil"
start fw1
start fw2
guide fw1 || { cat "$SCRATCH/out"; fail "guide"; }
r=$(head_of fw1)
wait_head fw2 $r
# An old commit fw2 holds.
on fw1 show --raw 2 > "$SCRATCH/old.raw"

step "a real session is recorded, for playing it again later"
stop fw1
proxy=$(free_port)
"$HOSTILE" "$(addr fw2)" record "$proxy" "$SCRATCH/session.rec" &
rec=$!
sleep 0.3
on fw1 peer del fw2 >/dev/null
on fw1 peer add fw2 "127.0.0.1:$proxy" "$(key fw2)" >/dev/null
on fw1 set --no-wait test.recorded 1 > /dev/null
start fw1
r=$((r + 1))
wait_head fw2 $r
stop fw1
wait $rec
on fw1 peer del fw2 >/dev/null
on fw1 peer add fw2 "$(addr fw2)" "$(key fw2)" >/dev/null
[ -s "$SCRATCH/session.rec" ] || fail "nothing recorded"

# The state fw2 renders from, without what fw1 commits to test.* keys
# during the attacks (they render nothing), and the files it rendered.
snap() {
	on fw2 export | grep -v '^set test\.' > "$SCRATCH/fp.$1" ||
	    fail "export"
	(cd "$SCRATCH/fw2/root" && find . -type f -exec sha256sum {} + |
	    sort) >> "$SCRATCH/fp.$1"
}
# attack MODE LOGPATTERN [ARGS...]: refused, and the reason is logged.
attack() {
	mode=$1; pattern=$2; shift 2
	lines=$(wc -l < "$SCRATCH/fw2.log")
	"$HOSTILE" $keys "$(addr fw2)" "$mode" "$@" \
	    > "$SCRATCH/attack.out" 2>&1 || {
		cat "$SCRATCH/attack.out"; fail "$mode was not refused"; }
	i=0
	until tail -n +$((lines + 1)) "$SCRATCH/fw2.log" | grep -Eq -- "$pattern"
	do
		i=$((i + 1))
		[ $i -lt 100 ] || {
			tail -n +$((lines + 1)) "$SCRATCH/fw2.log"
			fail "$mode: no /$pattern/ in the log"; }
		sleep 0.1
	done
	ok "$mode: $(tail -n +$((lines + 1)) "$SCRATCH/fw2.log" |
	    grep -E -- "$pattern" | head -1 | cut -d' ' -f3-)"
}

snap before
pid2=$(pid fw2)
rss0=$(rss "$pid2")
: > "$RESTARTS"
start fw1

step "fw1 commits all along while the first attacks run"
rm -f "$SCRATCH/tick.stop" "$SCRATCH/tick.fail"
(
	i=0
	until [ -e "$SCRATCH/tick.stop" ]; do
		i=$((i + 1))
		on fw1 set test.tick "$i" > "$SCRATCH/tick.$i" 2>&1 &&
		    grep -q "^fw2: applied r[0-9]*, no change$" \
		    "$SCRATCH/tick.$i" || echo "$i" >> "$SCRATCH/tick.fail"
		echo "$i" > "$SCRATCH/tick.n"
		sleep 0.2
	done
) &
ticker=$!
test_pids="$test_pids $ticker"

step "before the handshake"
keys=""
attack garbage "connection from 127.0.0.1:[0-9]+ refused: handshake: msg1 has length"
attack hugelen "refused: handshake: msg1 has length 4294967295"
attack unknown "refused: handshake: key .* is not trusted"
attack stall "refused: handshake: waiting for msg1: timed out"
attack playback "refused: handshake: cannot authenticate msg3" \
    "$SCRATCH/session.rec"

step "a trusted peer that is not the primary"
on fw1 show --raw 2 > "$SCRATCH/genuine.raw"
keys="-k $(dir evil)"
attack relay "evil: refused a change set: evil is not our primary" \
    "$SCRATCH/genuine.raw"
attack trunc "evil: session ended: frame of 1000 bytes: connection closed"
attack hugeframe "evil: session ended: frame length 4294967295 out of range"
attack array32 "evil: malformed message: commits: not an array"
attack rndframe "evil: malformed message: message is not an array"
attack rndmsgpack "evil: malformed message: "
attack emptyframe "evil: session ended: an empty frame"

step "fw1's commits were applied all the while"
touch "$SCRATCH/tick.stop"
wait "$ticker"
n=$(cat "$SCRATCH/tick.n")
echo "fw1 made $n commits during the attacks"
[ "$n" -ge 5 ] || fail "only $n commits"
[ ! -s "$SCRATCH/tick.fail" ] || {
	cat "$SCRATCH/tick.$(head -1 "$SCRATCH/tick.fail")"
	fail "commits not applied on fw2: $(tr '\n' ' ' < "$SCRATCH/tick.fail")"; }

step "over the primary's own link (fw1 down), commits fw2 must refuse"
stop fw1
h=$(head_of fw2)
on fw1 set --no-wait test.next 1 > /dev/null
on fw1 show --raw $((h + 1)) > "$SCRATCH/next.raw"
on fw1 set --no-wait test.next 2 > /dev/null
on fw1 show --raw $((h + 2)) > "$SCRATCH/after-next.raw"
keys="-k $(dir fw1)"
attack forged "fw1: rejected a change set: .*signature" "$SCRATCH/next.raw"
attack replay "fw1: 1 commit already held: no effect" "$SCRATCH/old.raw"
attack gap "fw1: out of order: got r$((h + 2)), head is r$h" \
    "$SCRATCH/after-next.raw"
keys="-k $(dir fw1) -s $(dir rogue)"
attack resign "fw1: rejected a change set: signed by untrusted key $(key rogue | sed 's/[+]/[+]/g')" \
    "$SCRATCH/next.raw"
[ "$(head_of fw2)" = "$h" ] || fail "fw2 moved to r$(head_of fw2)"

step "many unfinished handshakes at once: bounded, then served again"
stalls=""
for i in 1 2 3 4 5 6 7 8; do
	"$HOSTILE" "$(addr fw2)" stall > /dev/null 2>&1 &
	stalls="$stalls $!"
done
sleep 0.5
assert_grep "dropped: too many unfinished handshakes" "$SCRATCH/fw2.log"
for p in $stalls; do wait "$p"; done

step "fw1 back: fw2 holds exactly fw1's history"
start fw1
wait_head fw2 $((h + 2))
same fw1 fw2

step "nothing else changed on fw2: state, files, restarts"
snap after
cmp -s "$SCRATCH/fp.before" "$SCRATCH/fp.after" || {
	diff "$SCRATCH/fp.before" "$SCRATCH/fp.after" | head; fail "changed"; }
assert_no_grep "^fw2 " "$RESTARTS"

step "memory stayed bounded"
rss1=$(rss "$pid2")
echo "fw2 RSS: ${rss0} KiB before, ${rss1} KiB after"
[ "$rss1" -lt $((rss0 + 8192)) ] || fail "RSS grew from $rss0 to $rss1 KiB"

step "fw2 still serves the real primary"
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.99
assert_grep "^fw2: applied r$((h + 3)), restarted ntpd" "$SCRATCH/out"
same fw1 fw2
kill -0 "$pid2" || fail "fw2 died"
ok "t4040"
