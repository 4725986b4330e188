#!/bin/sh
# A replica takes its history from its primary only.  fw3 is a peer fw2
# trusts (the link comes up), but not fw2's primary: whatever it sends is
# refused with a logged reason, a genuine commit of fw1's as much as one
# it signed itself; and over fw1's own link a commit signed by fw3's key
# is refused too.  fw2's store is unchanged and fw1 still replicates.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

HOSTILE="$BUILDDIR/tests/hostile_peer"

step "fw1 primary of fw2 and fw3; fw2 also trusts fw3"
star fw1 fw2 fw3
on fw2 peer add fw3 "$(addr fw3)" "$(key fw3)" >/dev/null || fail "fw3"
start fw1
start fw2
start fw3
guide_synced fw1 fw2
wait_head fw3 "$r"
stop fw1
on fw1 set --no-wait ntpd.listen@fw2 10.0.0.66 > /dev/null
on fw1 show --raw $((r + 1)) > "$SCRATCH/next.raw"
store_fingerprint "$(dir fw2)" > "$SCRATCH/before"

# refused MODE PATTERN ARGS...: hostile_peer gets the nack it expects
# (rejected), and fw2 logs PATTERN.
refused() {
	mode=$1; pattern=$2; shift 2
	lines=$(wc -l < "$SCRATCH/fw2.log")
	"$HOSTILE" "$@" "$(addr fw2)" "$mode" "$SCRATCH/next.raw" \
	    > "$SCRATCH/attack.out" 2>&1 || {
		cat "$SCRATCH/attack.out"; fail "$mode was not refused"; }
	cat "$SCRATCH/attack.out"
	wait_for sh -c "tail -n +$((lines + 1)) '$SCRATCH/fw2.log' |
	    grep -Eq -- '$pattern'" || {
		tail -n +$((lines + 1)) "$SCRATCH/fw2.log"
		fail "$mode: no /$pattern/ in fw2's log"; }
}

step "fw3 relays fw1's genuine next commit: refused, fw3 is not the primary"
refused relay "fw3: refused a change set: fw3 is not our primary: the primary of epoch 1 is fw1" \
    -k "$(dir fw3)"

step "fw3 sends that commit signed with its own key: refused"
refused resign "fw3: refused a change set: fw3 is not our primary" \
    -k "$(dir fw3)" -s "$(dir fw3)"

step "over fw1's link, a commit signed by fw3's key: refused"
refused resign "fw1: rejected a change set: r$((r + 1)) is signed by $(key fw3 | sed 's/[+]/[+]/g'), not by the primary of epoch 1" \
    -k "$(dir fw1)" -s "$(dir fw3)"

step "fw2 unchanged; fw1 back, its commit applied"
store_fingerprint "$(dir fw2)" > "$SCRATCH/after"
cmp -s "$SCRATCH/before" "$SCRATCH/after" || fail "fw2 was changed"
start fw1
wait_head fw2 $((r + 1))
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.67
assert_grep "^fw2: applied r$((r + 2)), restarted ntpd" "$SCRATCH/out"
same fw1 fw2 fw3
ok "t4065"
