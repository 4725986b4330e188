#!/bin/sh
# The daemons' own checkers accept what the shipped templates render
# with the guide's values, and refuse a broken value, through render and
# when run on the installed files directly.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
for c in unbound-checkconf nsd-checkconf ntpd dhcpd; do
	command -v $c >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin"
	command -v $c >/dev/null 2>&1 || fail "checker $c is not installed"
done

step "render runs the real checkers (test_commands only swaps dhcpd's flags)"
guide_store fw1 fw2
test_commands "$root"
expect 0 "$CFGSTORE" get service.unbound.check; assert_out "unbound-checkconf {}"
expect 0 "$CFGSTORE" get service.nsd.check; assert_out "nsd-checkconf {}"
expect 0 "$CFGSTORE" get service.ntpd.check; assert_out "ntpd -n -f {}"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted carp, dhcpd, nsd, ntpd, unbound"
assert_eq "$(restarts)" "carp dhcpd nsd ntpd unbound" "restarts"

step "the installed files pass their checkers run by hand"
unbound-checkconf "$root/var/unbound/etc/unbound.conf" >"$SCRATCH/c" 2>&1 ||
    { cat "$SCRATCH/c"; fail "unbound-checkconf"; }
nsd-checkconf "$root/var/nsd/etc/nsd.conf" >"$SCRATCH/c" 2>&1 ||
    { cat "$SCRATCH/c"; fail "nsd-checkconf"; }
ntpd -n -f "$root/etc/ntpd.conf" >"$SCRATCH/c" 2>&1 ||
    { cat "$SCRATCH/c"; fail "ntpd -n"; }
dhcpd -t -cf "$root/etc/dhcpd.conf" >"$SCRATCH/c" 2>&1 ||
    { cat "$SCRATCH/c"; fail "dhcpd -t"; }
for z in home.example.com 0.0.10.in-addr.arpa; do
	if command -v nsd-checkzone >/dev/null 2>&1; then
		nsd-checkzone $z "$root/var/nsd/zones/$z.zone" >"$SCRATCH/c" 2>&1 ||
		    { cat "$SCRATCH/c"; fail "nsd-checkzone $z"; }
	fi
done

step "and each checker, through render, refuses a broken value"
# Each of these breaks one service's syntax; the checker must say no.
for bad in "unbound unbound.access-control '10.0.0.0/24 allow-everyone'" \
    "nsd nsd.listen 'not an address'" \
    "ntpd ntpd.servers 'pool.ntp.org extra-word'" \
    "dhcpd dhcpd.subnet.lan.netmask 'not-a-mask'"; do
	eval "set -- $bad"
	svc=$1; shift
	batch "set $1 '$2'"
	expect 1 "$CFGSTORE" render --root "$root" $svc
	# The checker's own words, pointing into the file, not its banner.
	assert_err_line "^cfgstore: $svc: check failed for [^ ]+: .*(:[0-9]+| line [0-9]+)"
	assert_eq "$(restarts)" "" "restarts after a refused $svc"
done
ok "t3010"
