#!/bin/sh
# Changing one value touches the files that use it and restarts their
# service once; every other file keeps its mtime and nothing else restarts.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
guide_store fw1 fw2
test_commands "$root"
expect 0 "$CFGSTORE" render --root "$root"
assert_eq "$(restarts)" "carp dhcpd nsd ntpd unbound" "first render"
snapshot "$root" > "$SCRATCH/before"
# mtimes in whole seconds would hide a rewrite in the same second.
sleep 1

step "only unbound.interface changes"
write "$CFGSTORE" set --no-wait unbound.interface 127.0.0.1 10.0.0.2 10.0.0.53
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted unbound"
assert_eq "$(restarts)" "unbound" "restarts"
grep -q 'interface: 10.0.0.54' "$root/var/unbound/etc/unbound.conf" &&
    fail "unbound.conf was not rewritten"

step "no other file was written, unbound's root.hints included"
snapshot "$root" > "$SCRATCH/after"
diff "$SCRATCH/before" "$SCRATCH/after" | grep '^[<>]' | awk '{print $2}' |
    sort -u > "$SCRATCH/touched"
assert_eq "$(cat "$SCRATCH/touched")" "./var/unbound/etc/unbound.conf" \
    "files touched"

step "a change that renders to the same bytes restarts nothing"
write "$CFGSTORE" set --no-wait carp.unused-note "not read by any template"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "no change"
assert_eq "$(restarts)" "" "restarts"

step "a per-host override for another host changes nothing here"
write "$CFGSTORE" set --no-wait ntpd.listen@fw2 10.0.0.33
expect 0 "$CFGSTORE" render --root "$root"
assert_out "no change"

step "two services in one commit: each restarts once"
write "$CFGSTORE" set --no-wait dhcpd.ntp-servers 10.0.0.2 10.0.0.3 10.0.0.4
write "$CFGSTORE" set --no-wait carp.carp2.advskew 10
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted carp, dhcpd"
assert_eq "$(restarts)" "carp dhcpd" "restarts"
grep -q 'advskew 10 ' "$root/etc/hostname.carp2" || fail "carp2 not updated"
grep -q 'advskew 0 ' "$root/etc/hostname.carp1" || fail "carp1 changed"
ok "t3020"
