#!/bin/sh
# A render root on a small tmpfs that fills up: the render fails with a
# clear line naming the file and the full disk, every installed file
# stays as it was, nothing half-written is left, and once there is room
# again the next render installs the change.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: mounting a tmpfs needs root"; exit 77; }
root="$SCRATCH/root"
mkdir -p "$root"
mount -t tmpfs -o size=512k,mode=0755 cfgstore-test "$root" 2>"$SCRATCH/mount" ||
    { cat "$SCRATCH/mount"; echo "skip: cannot mount a tmpfs here"; exit 77; }
trap 'umount "$root" 2>/dev/null; cleanup' EXIT

rendered_guide "$root"
snapshot "$root" > "$SCRATCH/before"

step "the disk full: the render fails with one clear line per service"
# Fill what is left, leaving less than a page.
dd if=/dev/zero of="$root/filler" bs=4k 2>/dev/null
sync
write "$CFGSTORE" set --no-wait ntpd.listen 10.0.0.12
expect 1 "$CFGSTORE" render --root "$root"
assert_grep "^cfgstore: ntpd: .*$root/etc/ntpd.conf.*([Nn]o space left on device|disk is full)" "$SCRATCH/err"
assert_out "failed: ntpd"
assert_eq "$(restarts)" "" "restarts"

step "the old files are intact and nothing half-written is left"
rm -f "$root/filler"
snapshot "$root" > "$SCRATCH/after"
diff "$SCRATCH/before" "$SCRATCH/after" || fail "installed files changed"
find "$root" -name '*cfgstore-new*' | grep . && fail "candidates left"
expect 4 "$CFGSTORE" status
assert_grep '^ *ntpd +r[0-9]+ +error ' "$SCRATCH/out"

step "with room again, the next render installs the change"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted ntpd"
grep -q 'listen on 10.0.0.12' "$root/etc/ntpd.conf" || fail "not installed"
ok "t3120"
