#!/bin/sh
# A checker that hangs is killed at the service's timeout, with its
# children: the old files stay, nothing restarts.  Check and restart
# commands overridden for one host (service.NAME.check@HOST,
# service.NAME.restart@HOST) are the ones that host runs.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
conf="$root/etc/ntpd.conf"
rendered_guide "$root"
cp -p "$conf" "$SCRATCH/ntpd.old"

step "a hanging checker: killed at the timeout, old file kept, no restart"
cat > "$SCRATCH/bin/hang-check" <<EOS
#!/bin/sh
echo \$\$ > "$SCRATCH/check.pid"
sleep 600
EOS
chmod +x "$SCRATCH/bin/hang-check"
batch --force "set service.ntpd.check \"$SCRATCH/bin/hang-check {}\"" \
    "set service.ntpd.timeout 2" "set ntpd.listen 10.0.0.12"
start=$(date +%s)
expect 1 "$CFGSTORE" render --root "$root"
took=$(( $(date +%s) - start ))
[ $took -lt 20 ] || fail "render took $took s with a 2 s timeout"
assert_err_line "^cfgstore: ntpd: check failed for $conf: timed out, killed$"
assert_out "failed: ntpd"
cmp "$SCRATCH/ntpd.old" "$conf" || fail "ntpd.conf changed"
assert_eq "$(restarts)" "" "restarts"
ls -a "$root/etc" | grep -q cfgstore-new && fail "candidate left"
case $(ps -o stat= -p "$(cat "$SCRATCH/check.pid")") in
""|Z*) ;;
*) fail "the hung checker still runs" ;;
esac

step "service.ntpd.check@fw1 is what fw1 runs, not the plain one"
batch --force "set service.ntpd.check false" \
    "set service.ntpd.check@fw1 \"echo fw1 >> $SCRATCH/checked; ntpd -n -f {}\"" \
    "set service.ntpd.check@fw2 \"echo fw2 >> $SCRATCH/checked; false\""
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted ntpd"
assert_eq "$(cat "$SCRATCH/checked")" "fw1" "checks run"
grep -q 'listen on 10.0.0.12' "$conf" || fail "ntpd.conf not installed"
assert_eq "$(restarts)" "ntpd" "restarts"

step "service.ntpd.restart@fw1 likewise"
batch "set service.ntpd.restart@fw1 \"$SCRATCH/bin/ok ntpd-on-fw1\"" \
    "set service.ntpd.restart@fw2 \"$SCRATCH/bin/ok ntpd-on-fw2\"" \
    "set ntpd.listen 10.0.0.13"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted ntpd"
assert_eq "$(restarts)" "ntpd-on-fw1" "restarts"

step "and fw2, from the same values, runs its own"
fw1_store=$CFGSTORE_DIR
"$CFGSTORE" export > "$SCRATCH/all.apply" || fail "export"
guide_store fw2 fw1
write "$CFGSTORE" apply --no-wait "$SCRATCH/all.apply"
: > "$SCRATCH/checked"
expect 1 "$CFGSTORE" render --root "$SCRATCH/root2" ntpd
assert_err_line "^cfgstore: ntpd: check failed for $SCRATCH/root2/etc/ntpd.conf: exit 1$"
assert_eq "$(cat "$SCRATCH/checked")" "fw2" "checks run on fw2"
assert_eq "$(restarts)" "" "restarts on fw2"
batch "del service.ntpd.check@fw2"
expect 1 "$CFGSTORE" render --root "$SCRATCH/root2" ntpd
assert_err_line "^cfgstore: ntpd: check failed for $SCRATCH/root2/etc/ntpd.conf: exit 1$"
batch "set service.ntpd.check@fw2 true"
expect 0 "$CFGSTORE" render --root "$SCRATCH/root2" ntpd
assert_eq "$(restarts)" "ntpd-on-fw2" "restarts on fw2"
CFGSTORE_DIR=$fw1_store
ok "t3110"
