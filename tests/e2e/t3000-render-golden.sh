#!/bin/sh
# The shipped templates with the guide's values, on fw1 and on fw2, give
# exactly the files under tests/golden/fw1 and tests/golden/fw2.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

for node in fw1 fw2; do
	other=fw2; [ $node = fw2 ] && other=fw1
	root="$SCRATCH/root-$node"

	step "$node: first render installs every file and restarts every service"
	guide_store $node $other
	test_commands "$root"
	# The guide's chroot is OpenBSD's /var/unbound, not here: t3010
	# runs unbound-checkconf with a chroot under the scratch directory.
	batch "set unbound.chroot /var/unbound" \
	    "set unbound.directory /var/unbound" \
	    "set service.unbound.check true"
	expect 0 "$CFGSTORE" render --root "$root"
	assert_out "restarted carp, dhcpd, nsd, ntpd, unbound"
	assert_eq "$(restarts)" "carp dhcpd nsd ntpd unbound" "restarts"

	step "$node: the files are the golden ones, byte for byte"
	diff -r "$GOLDEN/$node" "$root" || fail "$node differs from golden"

	step "$node: modes: secrets are not readable by others"
	assert_eq "$(stat -c %a "$root/var/db/dhcpd.key")" 600 "dhcpd.key"
	assert_eq "$(stat -c %a "$root/etc/hostname.carp1")" 640 "hostname.carp1"
	assert_eq "$(stat -c %a "$root/etc/ntpd.conf")" 644 "ntpd.conf"
	assert_eq "$(stat -c %u:%g "$root/etc/ntpd.conf")" 0:0 "owner"

	step "$node: a second render changes nothing and restarts nothing"
	snapshot "$root" > "$SCRATCH/before"
	expect 0 "$CFGSTORE" render --root "$root"
	assert_out "no change"
	assert_eq "$(restarts)" "" "restarts"
	snapshot "$root" > "$SCRATCH/after"
	cmp -s "$SCRATCH/before" "$SCRATCH/after" || fail "files were touched"
done

step "fw1 and fw2 differ exactly where the guide's sed lines patched"
diff -r "$GOLDEN/fw1" "$GOLDEN/fw2" | grep '^[<>]' | grep -v '^. # ' |
    sort > "$SCRATCH/d"
cat > "$SCRATCH/want" <<'EOD'
< 	interface: 10.0.0.2
< dhcpd_flags="-Y em2 -y em2 em0"
< inet 10.0.0.53 255.255.255.0 NONE vhid 132 carpdev em0 pass vhid132passwd advskew 0 description "name server 1"
< inet 10.0.0.54 255.255.255.0 NONE vhid 133 carpdev em0 pass vhid133passwd advskew 0 description "name server 2"
< listen on 10.0.0.2
> 	interface: 10.0.0.3
> dhcpd_flags="-Y vr2 -y vr2 vr0"
> inet 10.0.0.53 255.255.255.0 NONE vhid 132 carpdev vr0 pass vhid132passwd advskew 128 description "name server 1"
> inet 10.0.0.54 255.255.255.0 NONE vhid 133 carpdev vr0 pass vhid133passwd advskew 128 description "name server 2"
> listen on 10.0.0.3
EOD
diff -u "$SCRATCH/want" "$SCRATCH/d" || fail "unexpected per-host differences"

step "an unknown service is bad usage"
expect 2 "$CFGSTORE" render --root "$SCRATCH/root-fw2" nosuch
assert_err_line "unknown service 'nosuch'"

step "SERVICE... renders only those"
rm "$SCRATCH/root-fw2/etc/ntpd.conf" "$SCRATCH/root-fw2/var/nsd/etc/nsd.conf"
expect 0 "$CFGSTORE" render --root "$SCRATCH/root-fw2" ntpd
assert_out "restarted ntpd"
[ ! -e "$SCRATCH/root-fw2/var/nsd/etc/nsd.conf" ] || fail "nsd rendered"
assert_eq "$(restarts)" "ntpd" "restarts"
ok "t3000"
