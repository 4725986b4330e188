#!/bin/sh
# A value the checker refuses: nothing of that service is installed, byte
# for byte, nothing restarts, the error names the file and quotes the
# checker; the other services go on.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
rendered_guide "$root"
conf="$root/var/unbound/etc/unbound.conf"
hints="$root/var/unbound/etc/root.hints"
cp -p "$conf" "$SCRATCH/conf.old"
cp -p "$hints" "$SCRATCH/hints.old"

step "a bad access-control, a new root.hints and a new ntpd address at once"
printf '. 3600000 NS X.ROOT-SERVERS.NET.\nX.ROOT-SERVERS.NET. 3600000 A 192.0.2.1\n' \
    > "$SCRATCH/hints.new"
write "$CFGSTORE" set --force --no-wait unbound.access-control "10.0.0.0/24 permit"
write "$CFGSTORE" set --force --no-wait --file unbound.root-hints "$SCRATCH/hints.new"
write "$CFGSTORE" set --no-wait ntpd.listen 10.0.0.12
expect 1 "$CFGSTORE" render --root "$root"
assert_err_line "^cfgstore: unbound: check failed for $conf: $conf:[0-9]+: error: .*access control"
assert_out "restarted ntpd; failed: unbound"

step "unbound's files are the old ones, byte for byte, mode and owner"
cmp "$SCRATCH/conf.old" "$conf" || fail "unbound.conf changed"
cmp "$SCRATCH/hints.old" "$hints" || fail "root.hints changed"
assert_eq "$(stat -c '%a %u %g' "$conf")" \
    "$(stat -c '%a %u %g' "$SCRATCH/conf.old")" "mode and owner"
assert_eq "$(restarts)" "ntpd" "restarts"
grep -q 'listen on 10.0.0.12' "$root/etc/ntpd.conf" || fail "ntpd not installed"
ls -a "$root/var/unbound/etc" | grep -q cfgstore-new && fail "candidate left"

step "the failure is what status shows for unbound"
expect 4 "$CFGSTORE" status --json
python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
svc = {s["name"]: s for s in st["services"]}
assert svc["unbound"]["result"] == "check-failed", svc["unbound"]
assert svc["ntpd"]["result"] == "installed", svc["ntpd"]
' "$SCRATCH/out" || { out; fail "status does not show the failure"; }

step "it fails again, the same way, until the value is fixed"
expect 1 "$CFGSTORE" render --root "$root"
assert_out "failed: unbound"
assert_eq "$(restarts)" "" "restarts"

step "render -v shows all the checker said, under the file's name"
expect 1 "$CFGSTORE" render -v --root "$root" unbound
assert_grep "^unbound: the checker said:$" "$SCRATCH/out"
assert_grep "^	.*$conf:[0-9]+: error: .*access control" "$SCRATCH/out"
assert_no_grep "cfgstore-new" "$SCRATCH/out"
assert_err_line "^cfgstore: unbound: check failed for $conf: "
write "$CFGSTORE" set --no-wait unbound.access-control "10.0.0.0/24 allow"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted unbound"
cmp -s "$SCRATCH/hints.new" "$hints" || fail "root.hints not installed"
ok "t3030"
