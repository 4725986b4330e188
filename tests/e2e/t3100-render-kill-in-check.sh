#!/bin/sh
# A render killed while a service's checker runs leaves every file of
# that service as it was: nothing is put in place before all its checks
# pass, and a file that was not there and went in for the checker to
# read is removed by the next render.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
conf="$root/var/unbound/etc/unbound.conf"
hints="$root/var/unbound/etc/root.hints"
rendered_guide "$root"
# unbound's files; the candidates a kill leaves are swept by the next render.
files() { snapshot "$root/var/unbound" | grep -v '\.cfgstore-new\.'; }
files > "$SCRATCH/before"

# A checker that says it started, then takes its time and refuses.
cat > "$SCRATCH/bin/slow-check" <<EOS
#!/bin/sh
echo "\$1" > "$SCRATCH/check-started"
sleep 5
exit 1
EOS
chmod +x "$SCRATCH/bin/slow-check"

# kill_in_check SERVICE: a render of SERVICE, killed once its check runs.
kill_in_check() {
	rm -f "$SCRATCH/check-started"
	"$CFGSTORE" render --root "$root" "$1" >/dev/null 2>&1 &
	pid=$!
	wait_for test -s "$SCRATCH/check-started" || fail "the check never started"
	kill -9 $pid; wait $pid 2>/dev/null
}

step "new root.hints and unbound.conf, killed during the check: both as before"
printf '. 3600000 NS X.ROOT-SERVERS.NET.\nX.ROOT-SERVERS.NET. 3600000 A 192.0.2.1\n' \
    > "$SCRATCH/hints.new"
write "$CFGSTORE" set --no-wait --file unbound.root-hints "$SCRATCH/hints.new"
write "$CFGSTORE" set --force --no-wait unbound.interface 127.0.0.1 10.0.0.2
batch "set service.unbound.check \"$SCRATCH/bin/slow-check {}\""
kill_in_check unbound
files | diff "$SCRATCH/before" - ||
    fail "unbound's files changed while its check ran"

step "only root.hints new, killed during the check: as before"
write "$CFGSTORE" set --force --no-wait unbound.interface 127.0.0.1 10.0.0.2 10.0.0.53 10.0.0.54
kill_in_check unbound
files | diff "$SCRATCH/before" - ||
    fail "root.hints changed while the check of unbound.conf ran"

step "the next render still checks it, and a refusal keeps the old files"
batch "set service.unbound.check false"
expect 1 "$CFGSTORE" render --root "$root"
assert_err_line "^cfgstore: unbound: check failed for $conf: exit 1$"
files | diff "$SCRATCH/before" - ||
    fail "unbound's files changed after a refused check"
assert_eq "$(restarts)" "" "restarts"
find "$root" -name '*.cfgstore-new.*' | grep . && fail "candidates remain"

step "a file that was not there, killed during the check: gone again"
rm "$hints"
batch "set service.unbound.check \"$SCRATCH/bin/slow-check {}\""
kill_in_check unbound
batch "set service.unbound.check false"
expect 1 "$CFGSTORE" render --root "$root"
[ -e "$hints" ] && fail "root.hints left by the killed render"
assert_eq "$(restarts)" "" "restarts"
expect 4 "$CFGSTORE" status --json
python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
svc = {s["name"]: s for s in st["services"]}
assert svc["unbound"]["result"] == "check-failed", svc["unbound"]
' "$SCRATCH/out" || { out; fail "status"; }

step "once the check passes, all goes in and unbound restarts once"
batch "set service.unbound.check \"unbound-checkconf {}\""
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted unbound"
cmp "$SCRATCH/hints.new" "$hints" || fail "root.hints not installed"
assert_eq "$(restarts)" "unbound" "restarts"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "no change"
ok "t3100"
