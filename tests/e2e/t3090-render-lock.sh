#!/bin/sh
# A render that waits for another (the daemon's and a command's) renders
# the head as it is once it holds the lock, never an older one it read
# before waiting.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
rendered_guide "$root"

step "a commit made while a render waits for the lock is what it installs"
exec 9>"$CFGSTORE_DIR/render.lock"
flock 9 || fail "cannot take the render lock"
"$CFGSTORE" render --root "$root" ntpd >"$SCRATCH/render.out" 2>&1 &
pid=$!
# Long enough for the render to open the store and block on the lock.
sleep 1
kill -0 $pid 2>/dev/null || { cat "$SCRATCH/render.out"; fail "render did not wait"; }
write "$CFGSTORE" set --no-wait ntpd.listen 10.0.0.42
flock -u 9
exec 9>&-
wait $pid || { cat "$SCRATCH/render.out"; fail "render failed"; }
assert_grep '^restarted ntpd$' "$SCRATCH/render.out"
assert_grep '^listen on 10.0.0.42$' "$root/etc/ntpd.conf"
assert_eq "$(restarts)" "ntpd" "restarts"
expect 4 "$CFGSTORE" status --json
python3 -c '
import json, sys
st = json.load(open(sys.argv[1]))
svc = {s["name"]: s for s in st["services"]}
assert svc["ntpd"]["rev"] == st["head"]["rev"], (svc["ntpd"], st["head"])
' "$SCRATCH/out" || { out; fail "ntpd was not rendered at the head"; }

step "and a render after it has nothing left to do"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "no change"
ok "t3090"
