#!/bin/sh
# --dry-run prints a unified diff of what would change and which services
# would restart, shows no secret, and changes nothing at all.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
guide_store fw1 fw2
test_commands "$root"

step "on an empty root: every file would be created"
# The test commands made unbound's directory, as a real host has it.
before=$(find "$root" | sort)
expect 0 "$CFGSTORE" render --dry-run --root "$root"
assert_grep '^--- /dev/null$' "$SCRATCH/out"
assert_grep "^\+\+\+ $root/etc/ntpd.conf\$" "$SCRATCH/out"
assert_grep '^\+listen on 10.0.0.2$' "$SCRATCH/out"
assert_grep '^would restart carp, dhcpd, nsd, ntpd, unbound$' "$SCRATCH/out"
[ "$(find "$root" | sort)" = "$before" ] || fail "dry run created files under $root"
assert_eq "$(restarts)" "" "restarts"

expect 0 "$CFGSTORE" render --root "$root"
restarts >/dev/null
snapshot "$root" > "$SCRATCH/before"

step "changes to ntpd, the dhcpd key and a carp password"
write "$CFGSTORE" set --no-wait ntpd.listen 10.0.0.12
printf 'NEW-SECRET-KEY-BYTES' > "$SCRATCH/newkey"
write "$CFGSTORE" set --no-wait --file dhcpd.key "$SCRATCH/newkey"
write "$CFGSTORE" set --no-wait carp.carp1.pass NEW-CARP-PASSWORD
expect 0 "$CFGSTORE" render --dry-run --root "$root"
cat > "$SCRATCH/want" <<EOD
--- $root/etc/ntpd.conf
+++ $root/etc/ntpd.conf
@@ -2,7 +2,7 @@
 # Change the store (cfgstore set ntpd.listen ...), not this file.
 
 # Serve time to the internal network.
-listen on 10.0.0.2
+listen on 10.0.0.12
 
 # Where time comes from.
 server 0.us.pool.ntp.org
EOD
sed -n '/^--- .*ntpd.conf$/,/^ server 0/p' "$SCRATCH/out" > "$SCRATCH/got"
diff -u "$SCRATCH/want" "$SCRATCH/got" || fail "ntpd.conf diff"
assert_grep "^$root/var/db/dhcpd.key: would change \(not readable by others; contents not shown\)\$" "$SCRATCH/out"
assert_grep "^$root/etc/hostname.carp1: would change \(not readable by others; contents not shown\)\$" "$SCRATCH/out"
assert_no_grep 'NEW-SECRET|NEW-CARP|vhid132passwd' "$SCRATCH/out"
assert_out "$(sed '$d' "$SCRATCH/out")
would restart carp, dhcpd, ntpd"

step "nothing changed: files, mtimes, restarts, candidates"
snapshot "$root" > "$SCRATCH/after"
diff "$SCRATCH/before" "$SCRATCH/after" || fail "dry run touched files"
assert_eq "$(restarts)" "" "restarts"
find "$root" -name '*cfgstore-new*' | grep . && fail "candidates left"

step "the real render then does what the dry run said"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted carp, dhcpd, ntpd"
cmp -s "$SCRATCH/newkey" "$root/var/db/dhcpd.key" || fail "key not installed"
assert_eq "$(stat -c %a "$root/var/db/dhcpd.key")" 600 "key mode"

ok "t3070"
