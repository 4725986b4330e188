#!/bin/sh
# diff, show and log -p show a blob that is text (UTF-8 without NUL) as
# a unified line diff, and any other blob as its size and hash; log
# PREFIX lists the commits that touched keys under PREFIX, as list does.
. "$(dirname "$0")/lib.sh"

expect 0 "$CFGSTORE" init --node fw1 --primary
w() { expect 0 "$CFGSTORE" "$@"; }

step "a template changed: a line diff, as diff -u gives it"
w get template.ntpd.conf; cp "$SCRATCH/out" "$SCRATCH/old.tmpl"
sed 's/^server /servers /' "$SCRATCH/old.tmpl" > "$SCRATCH/new.tmpl"
printf 'a new last line\n' >> "$SCRATCH/new.tmpl"
cmp -s "$SCRATCH/old.tmpl" "$SCRATCH/new.tmpl" && fail "the template did not change"
w set --no-wait --file template.ntpd.conf "$SCRATCH/new.tmpl"
rev=2
# What diff(1) says, under our header line, with our labels.
(cd "$SCRATCH" && diff -u old.tmpl new.tmpl) | tail -n +3 > "$SCRATCH/want.hunks"
w diff
old=$(wc -c < "$SCRATCH/old.tmpl" | tr -d ' '); new=$(wc -c < "$SCRATCH/new.tmpl" | tr -d ' ')
assert_grep "^~ template.ntpd.conf: text, $old -> $new bytes$" "$SCRATCH/out"
assert_grep '^--- a/template.ntpd.conf$' "$SCRATCH/out"
assert_grep '^\+\+\+ b/template.ntpd.conf$' "$SCRATCH/out"
tail -n +4 "$SCRATCH/out" > "$SCRATCH/got.hunks"
cmp -s "$SCRATCH/want.hunks" "$SCRATCH/got.hunks" || {
	diff "$SCRATCH/want.hunks" "$SCRATCH/got.hunks"; fail "hunks differ from diff -u"; }
assert_no_grep '<blob' "$SCRATCH/out"
# The diff applies with patch(1) and gives the new template back.
cp "$SCRATCH/old.tmpl" "$SCRATCH/template.ntpd.conf"
tail -n +2 "$SCRATCH/out" | sed 's|^--- a/|--- |; s|^+++ b/|+++ |' |
    (cd "$SCRATCH" && patch -s template.ntpd.conf) || fail "patch refused the diff"
cmp -s "$SCRATCH/template.ntpd.conf" "$SCRATCH/new.tmpl" || fail "patched template differs"

step "show and log -p show the same change"
w diff; cp "$SCRATCH/out" "$SCRATCH/diff.out"
w show $rev
tail -n +5 "$SCRATCH/out" > "$SCRATCH/show.changes"
cmp -s "$SCRATCH/show.changes" "$SCRATCH/diff.out" || {
	diff "$SCRATCH/diff.out" "$SCRATCH/show.changes"; fail "show differs from diff"; }
w log -p -n 1
assert_grep "^r$rev  " "$SCRATCH/out"
tail -n +2 "$SCRATCH/out" > "$SCRATCH/logp.changes"
cmp -s "$SCRATCH/logp.changes" "$SCRATCH/diff.out" || fail "log -p differs from diff"

step "a new text blob, a deleted one, and a missing final newline"
printf 'zone line 1\nzone line 2' > "$SCRATCH/zone"
w set --no-wait --file nsd.zone.lan "$SCRATCH/zone"
w diff
assert_out '+ nsd.zone.lan: text, 0 -> 23 bytes
--- /dev/null
+++ b/nsd.zone.lan
@@ -0,0 +1,2 @@
+zone line 1
+zone line 2
\ No newline at end of file'
w del --no-wait nsd.zone.lan
w diff
assert_grep '^- nsd.zone.lan: text, 23 -> 0 bytes$' "$SCRATCH/out"
assert_grep '^\+\+\+ /dev/null$' "$SCRATCH/out"
assert_grep '^-zone line 1$' "$SCRATCH/out"

step "a binary blob (a NUL, or bytes that are not UTF-8): size and hash"
printf 'key\0data' > "$SCRATCH/nul"
printf 'caf\351\n' > "$SCRATCH/latin1"
w set --no-wait --file dhcpd.key "$SCRATCH/nul"
w diff
assert_out "$(printf '+ dhcpd.key = <blob 8 bytes b2:%s>' "$(python3 -c '
import hashlib,sys; print(hashlib.blake2b(open(sys.argv[1],"rb").read(), digest_size=8).hexdigest())' "$SCRATCH/nul")")"
w set --no-wait --file dhcpd.key "$SCRATCH/latin1"
w diff
assert_grep '^- dhcpd.key = <blob 8 bytes b2:[0-9a-f]{16}>$' "$SCRATCH/out"
assert_grep '^\+ dhcpd.key = <blob 5 bytes b2:[0-9a-f]{16}>$' "$SCRATCH/out"
assert_no_grep 'caf' "$SCRATCH/out"
# Text against binary is not a line diff either.
w set --no-wait --file dhcpd.key "$SCRATCH/zone"
w diff
assert_grep '^- dhcpd.key = <blob 5 bytes' "$SCRATCH/out"
assert_grep '^\+ dhcpd.key = <blob 23 bytes' "$SCRATCH/out"

step "strings and lists stay one line each"
w set --no-wait ntpd.listen 10.0.0.2
w set --no-wait ntpd.listen 10.0.0.3
w diff
assert_out '- ntpd.listen = 10.0.0.2
+ ntpd.listen = 10.0.0.3'

step "log PREFIX: the commits that touched keys under it, as list matches"
w set --no-wait ntpd.listen@fw1 10.0.0.9
w set --no-wait ntpdx.other 1
w log ntpd.listen
[ "$(grep -c '^r' "$SCRATCH/out")" -eq 3 ] || fail "log ntpd.listen: not 3 commits"
w log ntpd
[ "$(grep -c '^r' "$SCRATCH/out")" -eq 4 ] || fail "log ntpd: not 4 commits"
w list ntpd
[ "$(wc -l < "$SCRATCH/out")" -eq 3 ] || fail "list ntpd: not 3 keys"
w log template
[ "$(grep -c '^r' "$SCRATCH/out")" -eq 2 ] || fail "log template: not r1 and r2"
w log -n 1 ntpd
[ "$(grep -c '^r' "$SCRATCH/out")" -eq 1 ] || fail "log -n 1 ntpd: not 1 commit"
assert_grep '^    set ntpdx.other$' "$SCRATCH/out"
w log --json ntpd.listen
python3 -c 'import json,sys; l=json.load(open(sys.argv[1])); assert len(l) == 3, l' "$SCRATCH/out" ||
    fail "log --json ntpd.listen"
w log nothing.here; [ ! -s "$SCRATCH/out" ] || fail "log of a prefix nothing has printed something"
expect 2 "$CFGSTORE" log -p --json
ok "text as text, binary as size and hash, log PREFIX"
