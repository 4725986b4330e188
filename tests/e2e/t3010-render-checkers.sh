#!/bin/sh
# The daemons' own checkers accept what the shipped templates render
# with the guide's values, and refuse a broken value, through render and
# when run on the installed files directly.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
for c in unbound-checkconf nsd-checkconf nsd-checkzone ntpd dhcpd; do
	command -v $c >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin"
	command -v $c >/dev/null 2>&1 || fail "checker $c is not installed"
done

step "render runs the real checkers (test_commands only swaps dhcpd's flags)"
guide_store fw1 fw2
test_commands "$root"
expect 0 "$CFGSTORE" get service.unbound.check; assert_out "unbound-checkconf {}"
expect 0 "$CFGSTORE" get service.nsd.check; assert_out "nsd-checkconf {}"
expect 0 "$CFGSTORE" get service.ntpd.check; assert_out "ntpd -n -f {}"
expect 0 "$CFGSTORE" get service.nsd.file.zones.check
assert_out "nsd-checkzone {item} {}"
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
	cmp "$GOLDEN/blobs/$z.zone" "$root/var/nsd/zones/$z.zone" ||
	    fail "zone $z not installed"
	nsd-checkzone $z "$root/var/nsd/zones/$z.zone" >"$SCRATCH/c" 2>&1 ||
	    { cat "$SCRATCH/c"; fail "nsd-checkzone $z"; }
done

step "and each checker, through render, refuses a broken value"
# Each of these breaks one service's syntax; the checker must say no.
# The shipped schema refuses them at the commit, so these keys go untyped.
batch "del schema.nsd.listen" "del schema.ntpd.servers" \
    "del schema.dhcpd.subnet.*.netmask"
for bad in "unbound unbound.access-control '10.0.0.0/24 allow-everyone'" \
    "nsd nsd.listen 'not an address'" \
    "ntpd ntpd.servers 'pool.ntp.org extra-word'" \
    "dhcpd dhcpd.subnet.lan.netmask 'not-a-mask'"; do
	eval "set -- $bad"
	svc=$1; shift
	# The write's own checks refuse it first, naming both hosts.
	expect 2 "$CFGSTORE" set --no-wait "$1" "$2"
	assert_grep "^cfgstore: fw1: $svc: " "$SCRATCH/err"
	assert_grep "^cfgstore: fw2: $svc: " "$SCRATCH/err"
	batch --force "set $1 '$2'"
	expect 1 "$CFGSTORE" render --root "$root" $svc
	# The checker's own words, pointing into the file, not its banner.
	assert_err_line "^cfgstore: $svc: check failed for [^ ]+: .*(:[0-9]+| line [0-9]+)"
	assert_eq "$(restarts)" "" "restarts after a refused $svc"
done
step "a broken zone: nsd-checkzone refuses it, the old zone stays, nothing restarts"
zone="$root/var/nsd/zones/home.example.com.zone"
batch "set nsd.listen 127.0.0.1@10053"
cp -p "$zone" "$SCRATCH/zone.old"
sed 's/^ns1	IN A	10.0.0.53$/ns1	IN A	10.0.0.533/' "$GOLDEN/blobs/home.example.com.zone" \
    > "$SCRATCH/zone.bad"
cmp -s "$SCRATCH/zone.bad" "$GOLDEN/blobs/home.example.com.zone" && fail "zone not broken"
expect 2 "$CFGSTORE" set --no-wait --file nsd.zone.home.example.com "$SCRATCH/zone.bad"
write "$CFGSTORE" set --force --no-wait --file nsd.zone.home.example.com "$SCRATCH/zone.bad"
expect 1 "$CFGSTORE" render --root "$root" nsd
assert_err_line "^cfgstore: nsd: check failed for $zone: "
assert_no_grep "cfgstore-new" "$SCRATCH/err"
assert_out "failed: nsd"
cmp "$SCRATCH/zone.old" "$zone" || fail "the broken zone was installed"
assert_eq "$(restarts)" "" "restarts"
ls -a "$root/var/nsd/zones" | grep -q cfgstore-new && fail "candidate left"

step "a good one goes in, and only nsd restarts"
sed 's/^gw	IN A	10.0.0.1$/gw	IN A	10.0.0.254/' "$GOLDEN/blobs/home.example.com.zone" \
    > "$SCRATCH/zone.new"
write "$CFGSTORE" set --no-wait --file nsd.zone.home.example.com "$SCRATCH/zone.new"
expect 0 "$CFGSTORE" render --root "$root" nsd
assert_out "restarted nsd"
cmp "$SCRATCH/zone.new" "$zone" || fail "the new zone was not installed"
assert_eq "$(restarts)" "nsd" "restarts"
ok "t3010"
