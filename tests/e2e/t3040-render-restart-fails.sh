#!/bin/sh
# A restart that fails, or hangs past the service's timeout, on the new
# files: the old files are put back, byte for byte, the service is
# restarted on them, and the failure is reported.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
conf="$root/var/unbound/etc/unbound.conf"
rendered_guide "$root"
cp -p "$conf" "$SCRATCH/conf.old"

# unbound "starts" unless its config listens on 10.0.0.99, which here
# either fails at once or never returns; each try is logged.
cat > "$SCRATCH/bin/unbound-rc" <<EOS
#!/bin/sh
echo unbound >> "$RESTARTS"
grep -q 'interface: 10.0.0.99' "$conf" || exit 0
case \$1 in
fail) echo "unbound: error: can't bind socket: Address already in use"; exit 1 ;;
hang) echo \$\$ > "$SCRATCH/hung.pid"; exec sleep 600 ;;
esac
EOS
chmod +x "$SCRATCH/bin/unbound-rc"

step "a failing restart: old file back, restarted on it"
restart_with unbound "$SCRATCH/bin/unbound-rc fail"
write "$CFGSTORE" set --no-wait unbound.interface 127.0.0.1 10.0.0.99
expect 1 "$CFGSTORE" render --root "$root"
assert_err_line "^cfgstore: unbound: restart failed \(exit 1: unbound: error: can't bind socket: Address already in use\); old files put back and restarted$"
cmp "$SCRATCH/conf.old" "$conf" || fail "unbound.conf is not the old one"
assert_eq "$(stat -c %a "$conf")" 644 "mode"
assert_eq "$(restarts)" "unbound unbound" "restarts: the new, then the old"

step "the failure stays in status until a render of unbound succeeds"
# Back to the installed values: nothing to do for unbound, which must
# not turn the failed restart into "unchanged".
write "$CFGSTORE" set --no-wait unbound.interface 127.0.0.1 10.0.0.2 10.0.0.53 10.0.0.54
expect 0 "$CFGSTORE" render --root "$root"
assert_out "no change"
expect 4 "$CFGSTORE" status
assert_grep '^ *unbound +r[0-9]+ +restart-failed ' "$SCRATCH/out"
expect 4 "$CFGSTORE" status --json
assert_grep '"result": *"restart-failed"' "$SCRATCH/out"
write "$CFGSTORE" set --no-wait unbound.interface 127.0.0.1 10.0.0.99

step "a hanging restart is killed at the timeout, with its children"
restart_with unbound "$SCRATCH/bin/unbound-rc hang"
write "$CFGSTORE" set --no-wait service.unbound.timeout 2
start=$(date +%s)
expect 1 "$CFGSTORE" render --root "$root"
took=$(( $(date +%s) - start ))
[ $took -lt 20 ] || fail "render took $took s with a 2 s timeout"
assert_err_line "^cfgstore: unbound: restart failed \(timed out, killed\); old files put back and restarted$"
cmp "$SCRATCH/conf.old" "$conf" || fail "unbound.conf is not the old one"
assert_eq "$(restarts)" "unbound unbound" "restarts"
# Killed, if maybe not yet reaped (a zombie) where init is slow to.
case $(ps -o stat= -p "$(cat "$SCRATCH/hung.pid")") in
""|Z*) ;;
*) fail "the hung restart still runs" ;;
esac

step "other services of the same render are not held back"
write "$CFGSTORE" set --no-wait ntpd.listen 10.0.0.12
expect 1 "$CFGSTORE" render --root "$root"
assert_out "restarted ntpd; failed: unbound"
grep -q 'listen on 10.0.0.12' "$root/etc/ntpd.conf" || fail "ntpd not installed"
assert_eq "$(restarts)" "ntpd unbound unbound" "restarts"

step "once the restart works, the new file goes in"
restart_with unbound "$SCRATCH/bin/ok unbound"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted unbound"
grep -q 'interface: 10.0.0.99' "$conf" || fail "new unbound.conf not installed"
expect 4 "$CFGSTORE" status
assert_grep '^ *unbound +r[0-9]+ +installed ' "$SCRATCH/out"
ok "t3040"
