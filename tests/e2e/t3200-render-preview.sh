#!/bin/sh
# preview: the files any host gets at one revision against another, with
# a batch on top, or against what is installed, as diffs; overrides
# resolved, secrets shown to root, nothing written.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
guide_store fw1 fw2

step "the last commit: an override for fw2 changes fw2's file only"
write "$CFGSTORE" set --no-wait ntpd.listen@fw2 10.0.0.33
head=$("$CFGSTORE" log -n 1 | sed -n 's/^r\([0-9]*\) .*/\1/p')
[ -n "$head" ] || fail "no head revision in log"
prev=$((head - 1))
expect 0 "$CFGSTORE" preview
assert_out "fw1: no change"
expect 0 "$CFGSTORE" preview --host fw2
cat > "$SCRATCH/want" <<EOD
--- fw2/etc/ntpd.conf	r$prev
+++ fw2/etc/ntpd.conf	r$head
@@ -2,7 +2,7 @@
 # Change the store (cfgstore set ntpd.listen ...), not this file.
 
 # Serve time to the internal network.
-listen on 10.0.0.3
+listen on 10.0.0.33
 
 # Where time comes from.
 server 0.us.pool.ntp.org
fw2: 1 file changes
EOD
diff -u "$SCRATCH/want" "$SCRATCH/out" || fail "fw2's preview"
expect 0 "$CFGSTORE" preview --all
assert_grep '^fw1: no change$' "$SCRATCH/out"
assert_grep '^fw2: 1 file changes$' "$SCRATCH/out"
# The same, named by revision, both ways round.
expect 0 "$CFGSTORE" preview --host fw2 "$prev" "$head"
diff -u "$SCRATCH/want" "$SCRATCH/out" || fail "preview A B"
expect 0 "$CFGSTORE" preview --host fw2 "r$head" "r$prev"
assert_grep '^-listen on 10.0.0.33$' "$SCRATCH/out"
assert_grep '^\+listen on 10.0.0.3$' "$SCRATCH/out"

step "from the empty store: every file is new"
expect 0 "$CFGSTORE" preview --host fw2 0
assert_grep '^--- /dev/null$' "$SCRATCH/out"
assert_grep "^\+\+\+ fw2/etc/ntpd.conf	r$head\$" "$SCRATCH/out"

step "a batch not yet committed, for every host; root sees the secrets"
fp=$(store_fingerprint "$CFGSTORE_DIR")
cat > "$SCRATCH/b" <<EOD
set ntpd.listen 10.0.0.9
set carp.carp1.pass NEW-CARP-PASSWORD
EOD
expect 0 "$CFGSTORE" preview --all --batch "$SCRATCH/b"
assert_grep "^\+\+\+ fw1/etc/ntpd.conf	r$head\+batch\$" "$SCRATCH/out"
assert_grep '^\+listen on 10.0.0.9$' "$SCRATCH/out"
# fw2's own listen address wins over the new default.
assert_no_grep '^\+\+\+ fw2/etc/ntpd.conf' "$SCRATCH/out"
# hostname.carp1 is 0640: root reads it, and so sees its diff.
assert_grep '^\+inet .* carpdev em0 pass NEW-CARP-PASSWORD ' "$SCRATCH/out"
assert_grep '^\+inet .* carpdev vr0 pass NEW-CARP-PASSWORD ' "$SCRATCH/out"
assert_grep '^fw1: 2 files change$' "$SCRATCH/out"
assert_grep '^fw2: 1 file changes$' "$SCRATCH/out"
expect 0 "$CFGSTORE" preview --host fw2 --batch - < "$SCRATCH/b"
assert_grep '^fw2: 1 file changes$' "$SCRATCH/out"
assert_eq "$(store_fingerprint "$CFGSTORE_DIR")" "$fp" "store after preview"

step "against what is installed here"
test_commands "$root"
expect 0 "$CFGSTORE" render --root "$root"
restarts >/dev/null
expect 0 "$CFGSTORE" preview --installed --root "$root"
assert_out "fw1: no change"
snapshot "$root" > "$SCRATCH/before"
write "$CFGSTORE" set --no-wait ntpd.listen 10.0.0.12
expect 0 "$CFGSTORE" preview --installed --root "$root"
assert_grep "^--- $root/etc/ntpd.conf	installed\$" "$SCRATCH/out"
assert_grep '^-listen on 10.0.0.2$' "$SCRATCH/out"
assert_grep '^\+listen on 10.0.0.12$' "$SCRATCH/out"
assert_grep '^fw1: 1 file changes$' "$SCRATCH/out"
snapshot "$root" > "$SCRATCH/after"
diff "$SCRATCH/before" "$SCRATCH/after" || fail "preview touched files"
assert_eq "$(restarts)" "" "restarts"

step "bad input: one line, exit 2, nothing written"
fp=$(store_fingerprint "$CFGSTORE_DIR")
expect 2 "$CFGSTORE" preview --host nosuch
assert_err_line "unknown host 'nosuch'"
expect 2 "$CFGSTORE" preview 1 999
assert_err_line "no revision r999"
expect 2 "$CFGSTORE" preview --installed --host fw2
assert_err_line "only this node's installed files"
printf 'set ntpd.listen\n' > "$SCRATCH/bad"
expect 2 "$CFGSTORE" preview --batch "$SCRATCH/bad"
assert_err_line "bad:1: "
expect 2 "$CFGSTORE" preview --all --host fw2
expect 2 "$CFGSTORE" preview --root "$root"
assert_err_line "--root is for --installed"
assert_eq "$(store_fingerprint "$CFGSTORE_DIR")" "$fp" "store after bad input"
ok "t3200"
