#!/bin/sh
# A file edited by hand since cfgstore installed it is reported and kept,
# its service neither installed nor restarted, until --force.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
conf="$root/etc/ntpd.conf"
rendered_guide "$root"

step "status: every installed file as cfgstore wrote it"
expect 4 "$CFGSTORE" status
assert_grep "^files:   [0-9]+, all as installed$" "$SCRATCH/out"

step "a hand edit shows in status at once, before any render"
echo "server time.example.org  # added by hand" >> "$conf"
expect 4 "$CFGSTORE" status
assert_grep "^files:   1 of [0-9]+ not as installed:$" "$SCRATCH/out"
assert_grep "^  drifted     $conf: edited since cfgstore installed it at r[0-9]+$" "$SCRATCH/out"
expect 4 "$CFGSTORE" status --json
python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
files = {f["path"]: f for f in st["files"]}
assert files[sys.argv[2]]["state"] == "drifted", files[sys.argv[2]]
others = [f for p, f in files.items() if p != sys.argv[2]]
assert others and all(f["state"] == "ok" for f in others), others
' "$SCRATCH/out" "$conf" || { out; fail "status --json does not show the drift"; }

step "a hand edit alone is reported at the next render, and kept"
cp -p "$conf" "$SCRATCH/edited"
expect 1 "$CFGSTORE" render --root "$root"
assert_err_line "^cfgstore: ntpd: $conf was edited by hand since r[0-9]+; kept \(--force overwrites it\)$"
assert_out "failed: ntpd"
cmp "$SCRATCH/edited" "$conf" || fail "the hand edit was overwritten"
assert_eq "$(restarts)" "" "restarts"

step "a change to the store does not overwrite it either"
write "$CFGSTORE" set --no-wait ntpd.listen 10.0.0.12
write "$CFGSTORE" set --no-wait nsd.listen 127.0.0.1@10054
expect 1 "$CFGSTORE" render --root "$root"
assert_err_line "^cfgstore: ntpd: $conf was edited by hand"
assert_out "restarted nsd; failed: ntpd"
cmp "$SCRATCH/edited" "$conf" || fail "the hand edit was overwritten"
assert_eq "$(restarts)" "nsd" "restarts"

step "--force overwrites it and restarts"
expect 0 "$CFGSTORE" render --force --root "$root"
assert_out "restarted ntpd"
grep -q 'time.example.org' "$conf" && fail "the hand edit survived --force"
grep -q 'listen on 10.0.0.12' "$conf" || fail "new ntpd.conf not installed"
assert_eq "$(restarts)" "ntpd" "restarts"

step "after which it renders as usual"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "no change"
expect 4 "$CFGSTORE" status
assert_grep "^files:   [0-9]+, all as installed$" "$SCRATCH/out"

step "a hand edit that matches the store is no drift"
write "$CFGSTORE" set --no-wait ntpd.listen 10.0.0.13
sed -i 's/10.0.0.12/10.0.0.13/' "$conf"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "no change"

step "a mode changed by hand is put right, not reported"
chmod 600 "$conf"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted ntpd"
assert_eq "$(stat -c %a "$conf")" 644 "mode"

step "a file deleted by hand comes back"
rm "$root/etc/hostname.carp1"
expect 4 "$CFGSTORE" status
assert_grep "^  missing     $root/etc/hostname.carp1$" "$SCRATCH/out"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted carp"
cmp "$GOLDEN/fw1/etc/hostname.carp1" "$root/etc/hostname.carp1" ||
    fail "hostname.carp1 is not back"
ok "t3060"
