#!/bin/sh
# A key a template needs (strict) or a blob a file needs is missing:
# only that service fails, with the key's name; the others render.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
rendered_guide "$root"
cp -p "$root/etc/ntpd.conf" "$SCRATCH/ntpd.old"

step "ntpd.servers deleted, unbound changed: ntpd fails, unbound goes on"
# A write that leaves a rendering service without a value is refused
# (exit 2, nothing written); forced, it reaches the renderer.
expect 2 "$CFGSTORE" del --no-wait ntpd.servers
assert_grep "^cfgstore: fw1: ntpd: cannot be rendered: .*missing value for 'ntpd.servers'" "$SCRATCH/err"
expect 0 "$CFGSTORE" get ntpd.servers
write "$CFGSTORE" del --force --no-wait ntpd.servers
write "$CFGSTORE" set --no-wait unbound.interface 127.0.0.1 10.0.0.2
expect 1 "$CFGSTORE" render --root "$root"
assert_err_line "^cfgstore: ntpd: /etc/ntpd.conf: ntpd.conf:[0-9]+: missing value for 'ntpd.servers'$"
assert_out "restarted unbound; failed: ntpd"
assert_eq "$(restarts)" "unbound" "restarts"
cmp "$SCRATCH/ntpd.old" "$root/etc/ntpd.conf" || fail "ntpd.conf changed"

step "a required key set to an empty string is refused like a missing one"
write "$CFGSTORE" set --no-wait ntpd.servers 0.us.pool.ntp.org
expect 0 "$CFGSTORE" render --root "$root" ntpd
cp -p "$root/etc/ntpd.conf" "$SCRATCH/ntpd.old"
restarts >/dev/null
# The shipped schema refuses "" at the commit: the key goes untyped.
write "$CFGSTORE" del --no-wait schema.ntpd.listen
write "$CFGSTORE" set --force --no-wait ntpd.listen ""
expect 1 "$CFGSTORE" render --root "$root" ntpd
assert_err_line "^cfgstore: ntpd: /etc/ntpd.conf: ntpd.conf:5: empty value for 'ntpd.listen'$"
cmp "$SCRATCH/ntpd.old" "$root/etc/ntpd.conf" || fail "ntpd.conf changed"
assert_eq "$(restarts)" "" "restarts"
write "$CFGSTORE" set --no-wait ntpd.listen 10.0.0.2

step "a value inside a carp interface's data is missing"
write "$CFGSTORE" del --force --no-wait carp.carp2.vhid
expect 1 "$CFGSTORE" render --root "$root" carp
assert_err_line "^cfgstore: carp: /etc/hostname.carp2: hostname.carp:2: missing value for '.vhid'$"

step "an item's missing key is never taken from the top level"
write "$CFGSTORE" set --no-wait vhid 999
expect 1 "$CFGSTORE" render --root "$root" carp
assert_err_line "^cfgstore: carp: /etc/hostname.carp2: hostname.carp:2: missing value for '.vhid'$"
assert_no_grep "vhid 999" "$root/etc/hostname.carp2"
cp -p "$root/etc/dhcpd.conf" "$SCRATCH/dhcpd.old"
write "$CFGSTORE" set --no-wait routers 10.9.9.9
write "$CFGSTORE" del --force --no-wait dhcpd.subnet.lan.routers
expect 1 "$CFGSTORE" render --root "$root" dhcpd
assert_err_line "^cfgstore: dhcpd: /etc/dhcpd.conf: dhcpd.conf:22: missing value for '.routers'$"
cmp "$SCRATCH/dhcpd.old" "$root/etc/dhcpd.conf" || fail "dhcpd.conf changed"
write "$CFGSTORE" set --no-wait dhcpd.subnet.lan.routers 10.0.0.1

step "a blob is missing: dhcpd fails, and says which"
write "$CFGSTORE" del --force --no-wait dhcpd.key
expect 1 "$CFGSTORE" render --root "$root" dhcpd nsd
assert_err_line "^cfgstore: dhcpd: /var/db/dhcpd.key: dhcpd.key: not found$"
assert_out "failed: dhcpd"
assert_eq "$(stat -c %a "$root/var/db/dhcpd.key")" 600 "old key kept"

step "a template is missing"
write "$CFGSTORE" del --force --no-wait template.nsd.conf
expect 1 "$CFGSTORE" render --root "$root" nsd
assert_err_line "^cfgstore: nsd: /var/nsd/etc/nsd.conf: template.nsd.conf: not found$"
ok "t3050"
