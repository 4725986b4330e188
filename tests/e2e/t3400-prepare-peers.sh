#!/bin/sh
# Before a write commits, every connected peer checks its own files as the
# write would make them, with its own checkers: a value only fw2's checker
# refuses is refused by fw2 with its line, exit 2, nothing written on
# either node; a yes commits; a write that changes no rendered file runs
# no checker anywhere; `check` asks fw2 and changes nothing; --force skips
# the round; a peer whose daemon is down is said not to be checked (exit
# 3) and the commit goes through.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

CHECKS="$SCRATCH/checks"
: > "$CHECKS"
nodechecks "$CHECKS"
# A checker only fw2 has, for fw2's files only (service.ntpd.check@fw2).
cat > "$SCRATCH/bin2/fw2only" <<EOS
#!/bin/sh
if grep -q 10.0.0.55 "\$1"; then
	echo "\$1:1: 10.0.0.55 is reserved here"
	exit 1
fi
exit 0
EOS
chmod +x "$SCRATCH/bin2/fw2only"
CFGSTORE_PREPARE_WAIT=10
export CFGSTORE_PREPARE_WAIT

two_nodes env PATH="$SCRATCH/bin2:$PATH"
guide_synced fw1 fw2
expect 0 on fw1 set service.ntpd.check "nodecheck {}"
wait_head fw2 $((r + 1))
r=$((r + 1))
wait_for acked fw1 fw2 $r || fail "fw2 did not acknowledge r$r"

# state NODE: what must not move when a write is refused.
state() {
	store_fingerprint "$(dir "$1")"
	find "$SCRATCH/$1/root" -type f -exec sha256sum {} + | sort
}
state fw1 > "$SCRATCH/fw1.before"
state fw2 > "$SCRATCH/fw2.before"
unchanged() {
	for n in fw1 fw2; do
		state $n > "$SCRATCH/$n.after"
		cmp -s "$SCRATCH/$n.before" "$SCRATCH/$n.after" || {
			diff "$SCRATCH/$n.before" "$SCRATCH/$n.after" | head
			fail "$n changed: $1"; }
	done
}

step "a value only fw2's checker refuses: refused by fw2, nothing written"
: > "$CHECKS"; : > "$RESTARTS"
expect 2 on fw1 set ntpd.listen@fw2 10.0.0.66
assert_grep '^cfgstore: fw2: ntpd: /etc/ntpd.conf: /etc/ntpd.conf:1: 10.0.0.66 is not an address of this host$' \
    "$SCRATCH/err"
assert_grep '^cfgstore: refused by 1 check on peers: nothing written' \
    "$SCRATCH/err"
[ "$(wc -l < "$SCRATCH/err")" -eq 2 ] || { err; fail "not two lines"; }
assert_no_grep 'cfgstore-check' "$SCRATCH/err"
# fw1 checked fw2's file with its own checker (and passed it), then fw2
# with its own, in a scratch directory: never the installed file.
assert_grep '^cli .*/etc/ntpd.conf$' "$CHECKS"
assert_grep '^fw2 .*cfgstore-check\.[^/]*/etc/ntpd.conf$' "$CHECKS"
assert_no_grep "^fw2 $SCRATCH/fw2/root" "$CHECKS"
unchanged "by a refused write"
[ ! -s "$RESTARTS" ] || fail "restarted: $(restarts)"

step "fw2 says yes: the write commits, exit 0"
: > "$CHECKS"
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.67
r=$((r + 1))
assert_grep "^fw2: applied r$r, restarted ntpd$" "$SCRATCH/out"
assert_grep '^fw2 .*cfgstore-check\.[^/]*/etc/ntpd.conf$' "$CHECKS"
grep -q "listen on 10.0.0.67" "$SCRATCH/fw2/root/etc/ntpd.conf" ||
    fail "fw2 did not install r$r"
grep -q "prepare [0-9]* on r$((r - 1)): yes, 1 checks" "$SCRATCH/fw2.log" ||
    fail "fw2's log does not tell its verdict"

step "a write that changes no rendered file runs no checker anywhere"
: > "$CHECKS"
expect 0 on fw1 set service.ntpd.timeout 31
r=$((r + 1))
[ ! -s "$CHECKS" ] || { cat "$CHECKS"; fail "a checker ran"; }
assert_no_grep "on r$((r - 1)):" "$SCRATCH/fw2.log"

step "check asks fw2 too and changes nothing"
wait_for acked fw1 fw2 $r || fail "fw2 did not acknowledge r$r"
state fw1 > "$SCRATCH/fw1.before"
state fw2 > "$SCRATCH/fw2.before"
printf 'set ntpd.listen@fw2 10.0.0.66\n' > "$SCRATCH/bad"
expect 2 on fw1 check "$SCRATCH/bad"
assert_grep '^fw2: ntpd: /etc/ntpd.conf: /etc/ntpd.conf:1: 10.0.0.66 is not an address of this host$' \
    "$SCRATCH/out"
assert_grep '^refused: 0 of 1 checks, and 1 on peers$' "$SCRATCH/out"
printf 'set ntpd.listen@fw2 10.0.0.68\n' > "$SCRATCH/good"
expect 0 on fw1 check "$SCRATCH/good"
assert_out "fw2: 1 check passed
passed: 1 checks, and on 1 of 1 peers"
# No batch: the head, every file fw2 has, checked on fw2.
: > "$CHECKS"
expect 0 on fw1 check
assert_grep '^fw2: [0-9]+ checks passed$' "$SCRATCH/out"
assert_grep '^fw2 .*cfgstore-check\.[^/]*/etc/ntpd.conf$' "$CHECKS"
unchanged "by check"

step "--force skips the peers' checks and is recorded"
: > "$CHECKS"
expect 3 on fw1 set --force ntpd.listen@fw2 10.0.0.66
r=$((r + 1))
assert_no_grep 'cfgstore-check' "$CHECKS"
expect 0 on fw1 show r$r
assert_grep 'checks overridden: --force' "$SCRATCH/out"
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.3
r=$((r + 1))

step "a checker only fw2 has: fw2's verdict decides for fw2's files"
expect 0 on fw1 set service.ntpd.check@fw2 "fw2only {}"
r=$((r + 1))
# fw1 cannot run fw2only on fw2's file; fw2 can, and passes it.
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.56
r=$((r + 1))
assert_grep "^fw2: applied r$r, restarted ntpd$" "$SCRATCH/out"
expect 2 on fw1 set ntpd.listen@fw2 10.0.0.55
assert_grep '^cfgstore: fw2: ntpd: /etc/ntpd.conf: /etc/ntpd.conf:1: 10.0.0.55 is reserved here$' \
    "$SCRATCH/err"
assert_no_grep 'not found' "$SCRATCH/err"

step "fw2's daemon is down: the write commits, fw2 not checked, exit 3"
wait_for acked fw1 fw2 $r || fail "fw2 did not acknowledge r$r"
stop fw2
# fw2 cannot decide for its files: what fw1's checks say of them stands.
expect 2 on fw1 set ntpd.listen@fw2 10.0.0.57
assert_grep '^cfgstore: fw2: ntpd: /etc/ntpd.conf: .*fw2only.*not found' \
    "$SCRATCH/err"
assert_grep '^cfgstore: refused by 1 check: nothing written' "$SCRATCH/err"
expect 3 on fw1 del service.ntpd.check@fw2
r=$((r + 1))
# fw1 may not have noticed yet (it would at its next ping): either way.
expect 3 on fw1 set ntpd.listen@fw2 10.0.0.69
r=$((r + 1))
assert_grep '^fw2: not checked \((unreachable|connection lost: .*)\)$' \
    "$SCRATCH/out"
assert_grep "^fw1: committed r$r" "$SCRATCH/out"

step "fw2 behind: back, it catches up first, then checks for itself"
expect 3 on fw1 set --no-wait ntpd.listen@fw2 10.0.0.70
expect 3 on fw1 set --no-wait ntpd.listen@fw2 10.0.0.71
r=$((r + 2))
start fw2 env PATH="$SCRATCH/bin2:$PATH"
# At once: fw1 sends fw2 what it lacks before the candidate.
expect 2 on fw1 set ntpd.listen@fw2 10.0.0.66
assert_grep '^cfgstore: fw2: ntpd: ' "$SCRATCH/err"
grep -q "prepare [0-9]* on r$r: no" "$SCRATCH/fw2.log" ||
    fail "fw2 did not check on r$r"
[ "$(head_of fw1)" = "$r" ] || fail "fw1 committed a refused write"
same fw1 fw2

stop fw1
stop fw2
ok "t3400"
