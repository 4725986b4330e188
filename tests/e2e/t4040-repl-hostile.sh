#!/bin/sh
# A hostile client against a replica: each attack is refused with a
# logged reason, the store and the rendered files stay as they were, the
# daemon's memory stays bounded, and it keeps serving the real primary.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

HOSTILE="$BUILDDIR/tests/hostile_peer"

step "fw1 and fw2 replicating; evil is a peer fw2 trusts"
node_init fw1 --primary
node_init fw2
node_init evil
pair fw1 fw2
on fw2 peer add evil "$(addr evil)" "$(key evil)" >/dev/null || fail "evil"
start fw1
start fw2
guide fw1 || { cat "$SCRATCH/out"; fail "guide"; }
r=$(head_of fw1)
wait_head fw2 $r
# An old commit fw2 holds; then two more that fw2 has not seen yet.
on fw1 show --raw 2 > "$SCRATCH/old.raw"
on fw1 set --no-wait ntpd.constraints 9.9.9.9 >/dev/null
wait_head fw2 $((r + 1))
stop fw1
on fw1 set --no-wait ntpd.listen 10.0.0.7 > /dev/null
on fw1 set --no-wait ntpd.listen 10.0.0.8 > /dev/null
r=$((r + 1))

snap() {
	store_fingerprint "$(dir fw2)" > "$SCRATCH/fp.$1"
	(cd "$SCRATCH/fw2/root" && find . -type f -exec sha256sum {} + |
	    sort) >> "$SCRATCH/fp.$1"
}
# attack MODE LOGPATTERN [ARGS...]: refused, and the reason is logged.
attack() {
	mode=$1; pattern=$2; shift 2
	lines=$(wc -l < "$SCRATCH/fw2.log")
	"$HOSTILE" -k "$(dir evil)" "$(addr fw2)" "$mode" "$@" \
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

step "before the handshake"
attack garbage "connection from 127.0.0.1:[0-9]+ refused: handshake: msg1 has length"
attack hugelen "refused: handshake: msg1 has length 4294967295"
attack unknown "refused: handshake: key .* is not trusted"
attack stall "refused: handshake: waiting for msg1: timed out"

step "a recorded session played again"
stop fw2
proxy=$(free_port)
"$HOSTILE" "$(addr fw2)" record "$proxy" "$SCRATCH/session.rec" &
rec=$!
sleep 0.3
on fw1 peer del fw2 >/dev/null
on fw1 peer add fw2 "127.0.0.1:$proxy" "$(key fw2)" >/dev/null
start fw2
start fw1
wait_head fw2 $((r + 2))
stop fw1
wait $rec
on fw1 peer del fw2 >/dev/null
on fw1 peer add fw2 "$(addr fw2)" "$(key fw2)" >/dev/null
[ -s "$SCRATCH/session.rec" ] || fail "nothing recorded"
snap before
pid2=$(pid fw2)
rss0=$(rss "$pid2")
: > "$RESTARTS"
attack playback "refused: handshake: cannot authenticate msg3" \
    "$SCRATCH/session.rec"

step "after the handshake, with a key fw2 trusts"
on fw1 set --no-wait ntpd.listen 10.0.0.9 > /dev/null
on fw1 show --raw $((r + 3)) > "$SCRATCH/next.raw"
on fw1 set --no-wait ntpd.listen 10.0.0.10 > /dev/null
on fw1 show --raw $((r + 4)) > "$SCRATCH/after-next.raw"
attack forged "evil: rejected a change set: .*signature" "$SCRATCH/next.raw"
attack replay "evil: 1 commit already held: no effect" "$SCRATCH/old.raw"
attack gap "evil: out of order: got r$((r + 4)), head is r$((r + 2))" \
    "$SCRATCH/after-next.raw"
attack trunc "evil: session ended: frame of 1000 bytes: connection closed"
attack hugeframe "evil: session ended: frame length 4294967295 out of range"
attack array32 "evil: malformed message: commits: not an array"

step "many unfinished handshakes at once: bounded, then served again"
stalls=""
for i in 1 2 3 4 5 6 7 8; do
	"$HOSTILE" "$(addr fw2)" stall > /dev/null 2>&1 &
	stalls="$stalls $!"
done
sleep 0.5
assert_grep "dropped: too many unfinished handshakes" "$SCRATCH/fw2.log"
for p in $stalls; do wait "$p"; done

step "nothing changed on fw2: store, files, restarts"
snap after
cmp -s "$SCRATCH/fp.before" "$SCRATCH/fp.after" || {
	diff "$SCRATCH/fp.before" "$SCRATCH/fp.after" | head; fail "changed"; }
assert_no_grep "^fw2 " "$RESTARTS"

step "memory stayed bounded"
rss1=$(rss "$pid2")
echo "fw2 RSS: ${rss0} KiB before, ${rss1} KiB after"
[ "$rss1" -lt $((rss0 + 8192)) ] || fail "RSS grew from $rss0 to $rss1 KiB"

step "fw2 still serves the real primary"
start fw1
wait_head fw2 $((r + 4))
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.99
assert_grep "^fw2: applied r$((r + 5)), restarted ntpd" "$SCRATCH/out"
same fw1 fw2
kill -0 "$pid2" || fail "fw2 died"
ok "t4040"
