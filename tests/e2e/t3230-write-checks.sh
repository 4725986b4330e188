#!/bin/sh
# Writes are checked before they are stored: every host's files as the
# write would make them, by the real checkers.  A refusal writes nothing
# and exits 2 with one line per refusal; --force commits it and the
# commit says so; a write that changes no rendered file runs no checker;
# a rollback is checked like any write.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

for c in unbound-checkconf nsd-checkconf ntpd dhcpd; do
	command -v $c >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin"
	command -v $c >/dev/null 2>&1 || fail "checker $c is not installed"
done
root="$SCRATCH/root"
rendered_guide "$root"
# ntpd's checker is the real one, and logs each run with the host's name.
batch "set service.ntpd.check@fw1 \"echo fw1 >> $SCRATCH/ran; ntpd -n -f {}\"" \
    "set service.ntpd.check@fw2 \"echo fw2 >> $SCRATCH/ran; ntpd -n -f {}\""
: > "$SCRATCH/ran"
data_sum=$(sha256sum < "$CFGSTORE_DIR/data.mdb")
head=$("$CFGSTORE" log -n 1 | cut -d' ' -f1)

step "a value unbound-checkconf refuses: exit 2, a line per host, nothing written"
expect 2 "$CFGSTORE" set unbound.access-control "10.0.0.0/24 bogus"
assert_grep '^cfgstore: fw1: unbound: /var/unbound/etc/unbound.conf: .*access control' "$SCRATCH/err"
assert_grep '^cfgstore: fw2: unbound: /var/unbound/etc/unbound.conf: .*access control' "$SCRATCH/err"
assert_grep '^cfgstore: refused by 2 checks: nothing written' "$SCRATCH/err"
[ "$(sha256sum < "$CFGSTORE_DIR/data.mdb")" = "$data_sum" ] ||
    fail "the store changed"
[ "$("$CFGSTORE" log -n 1 | cut -d' ' -f1)" = "$head" ] || fail "a commit was made"
assert_eq "$(restarts)" "" "restarts"

step "an override only fw2 gets: refused for fw2 alone"
expect 2 "$CFGSTORE" set unbound.access-control@fw2 "10.0.0.0/24 bogus"
assert_grep '^cfgstore: fw2: unbound: ' "$SCRATCH/err"
assert_no_grep '^cfgstore: fw1: ' "$SCRATCH/err"
assert_grep '^cfgstore: refused by 1 check: ' "$SCRATCH/err"

step "a key no file reads runs no checker; one both hosts' ntpd.conf read runs both"
write "$CFGSTORE" set --no-wait site.note "rack 4"
assert_eq "$(sort "$SCRATCH/ran" | tr '\n' ' ')" "" "checkers run"
write "$CFGSTORE" set --no-wait ntpd.servers 0.de.pool.ntp.org 1.de.pool.ntp.org
assert_eq "$(sort "$SCRATCH/ran" | tr '\n' ' ')" "fw1 fw2 " "checkers run"
: > "$SCRATCH/ran"
write "$CFGSTORE" set --no-wait ntpd.listen@fw2 10.0.0.4
assert_eq "$(sort "$SCRATCH/ran" | tr '\n' ' ')" "fw2 " "checkers run"

step "--force commits what the checks refuse, and the commit says so"
write "$CFGSTORE" set --force --no-wait unbound.access-control "10.0.0.0/24 bogus"
forced=$("$CFGSTORE" log -n 1 | cut -d' ' -f1)
expect 0 "$CFGSTORE" log -n 1
assert_grep '\[checks overridden: --force\]$' "$SCRATCH/out"
expect 0 "$CFGSTORE" show --json "$forced"
python3 -c 'import json,sys; assert json.load(sys.stdin)["forced"] is True' \
    < "$SCRATCH/out" || fail "show --json: not forced"
expect 0 "$CFGSTORE" log -n 2
[ "$(grep -c 'checks overridden' "$SCRATCH/out")" -eq 1 ] ||
    fail "an unforced commit is marked"
expect 0 "$CFGSTORE" verify

step "a rollback is checked like a write: back to the bad state is refused"
write "$CFGSTORE" set --no-wait unbound.access-control "10.0.0.0/24 allow"
expect 2 "$CFGSTORE" rollback -y "${forced#r}"
assert_grep '^cfgstore: fw1: unbound: ' "$SCRATCH/err"
expect 0 "$CFGSTORE" get unbound.access-control
assert_out "10.0.0.0/24 allow"
write "$CFGSTORE" rollback -y --force --no-wait "${forced#r}"
expect 0 "$CFGSTORE" get unbound.access-control
assert_out "10.0.0.0/24 bogus"

step "a schema refusal comes before any checker"
: > "$SCRATCH/ran"
expect 2 "$CFGSTORE" set ntpd.listen 10.0.0.999
assert_err_line 'ntpd.listen'
assert_eq "$(cat "$SCRATCH/ran")" "" "checkers run"
expect 0 "$CFGSTORE" verify
ok "writes are checked before they are stored"
