#!/bin/sh
# The shipped pf service: /etc/pf.conf from template.pf.conf with each
# host's macros and the shared rules (template.pf.rules), against golden
# files for fw1 and fw2.  pfctl does not exist here, so its check is
# replaced by a stand-in that, like pfctl -nf, refuses a macro that is
# used but not defined: enough to show a refusal for one host only.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

cat > "$SCRATCH/pfcheck" <<'EOS'
#!/bin/sh
# pfcheck FILE: "FILE:LINE: macro 'NAME' not defined", as pfctl says it.
awk -v f="$1" '
/^[a-z_][a-z0-9_]* = / { defined[$1] = 1; next }
/^[ \t]*#/ { next }
{
	line = $0
	while (match(line, /\$[a-z_][a-z0-9_]*/)) {
		name = substr(line, RSTART + 1, RLENGTH - 1)
		if (!(name in defined)) {
			printf "%s:%d: macro '\''%s'\'' not defined\n", f, NR, name
			bad = 1
		}
		line = substr(line, RSTART + RLENGTH)
	}
}
END { exit bad }' "$1"
EOS
chmod +x "$SCRATCH/pfcheck"

pf_store() {
	guide_store "$1" "$2"
	test_commands "$3"
	# pfctl is not on Linux: its stand-in checks the writes too.
	batch "set service.pf.check \"$SCRATCH/pfcheck {}\"" \
	    "set service.pf.restart \"$SCRATCH/bin/ok pf\""
	(cd "$GOLDEN" && write "$CFGSTORE" apply --no-wait pf.apply) || exit 1
}

step "shipped: pfctl checks the file and loads it; off until pf.enable"
guide_store fw9 fw2
expect 0 "$CFGSTORE" get service.pf.check; assert_out "pfctl -nf {}"
expect 0 "$CFGSTORE" get service.pf.restart; assert_out "pfctl -f /etc/pf.conf"
test_commands "$SCRATCH/root-off"
expect 0 "$CFGSTORE" render --root "$SCRATCH/root-off" pf
assert_out "no change"
[ ! -e "$SCRATCH/root-off/etc/pf.conf" ] || fail "pf.conf written while off"

for node in fw1 fw2; do
	other=fw2; [ $node = fw2 ] && other=fw1
	root="$SCRATCH/root-$node"
	step "$node: pf.conf is the golden one, 0600, and pf is reloaded"
	pf_store $node $other "$root"
	expect 0 "$CFGSTORE" render --root "$root" pf
	assert_out "restarted pf"
	assert_eq "$(restarts)" "pf" "restarts"
	cmp "$GOLDEN/pf/$node/etc/pf.conf" "$root/etc/pf.conf" ||
	    { diff -u "$GOLDEN/pf/$node/etc/pf.conf" "$root/etc/pf.conf";
	    fail "$node's pf.conf differs from golden"; }
	assert_eq "$(stat -c %a "$root/etc/pf.conf")" 600 "pf.conf mode"
done

step "the two differ only in the interfaces"
diff "$GOLDEN/pf/fw1/etc/pf.conf" "$GOLDEN/pf/fw2/etc/pf.conf" |
    grep '^[<>]' | grep -v '^. # ' > "$SCRATCH/d"
cat > "$SCRATCH/want" <<'EOD'
< ext_if = "em1"
< lan_if = "em0"
< sync_if = "em2"
> ext_if = "vr1"
> lan_if = "vr0"
> sync_if = "vr2"
EOD
diff -u "$SCRATCH/want" "$SCRATCH/d" || fail "unexpected per-host differences"

step "the sync port passes on the sync interface"
assert_grep '^pass in quick on \$sync_if proto tcp to port 7369 ' \
    "$GOLDEN/pf/fw1/etc/pf.conf"

step "new rules using a macro only fw1 defines: check refuses them for fw2"
{ cat "$SRCDIR/templates/pf.rules"
  echo 'pass in on $dmz_if proto tcp to port 22'; } > "$SCRATCH/rules"
printf 'set --file template.pf.rules %s\nset pf.macro.dmz_if@fw1 em3\n' \
    "$SCRATCH/rules" > "$SCRATCH/b"
fp=$(store_fingerprint "$CFGSTORE_DIR")
expect 2 "$CFGSTORE" check "$SCRATCH/b"
assert_grep "^fw2: pf: /etc/pf.conf: /etc/pf.conf:[0-9]+: macro 'dmz_if' not defined\$" \
    "$SCRATCH/out"
assert_no_grep '^fw1: pf:' "$SCRATCH/out"
assert_eq "$(store_fingerprint "$CFGSTORE_DIR")" "$fp" "store after check"
assert_eq "$(restarts)" "" "restarts"
ok "t3220"
