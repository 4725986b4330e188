#!/bin/sh
# Every example in the README's "Using it", in cfgstore(8)'s EXAMPLES (as
# mandoc renders them) and every `cfgstore set ...` in docs/ runs as
# written, on two nodes on loopback.  Only what cannot be literal here is
# replaced: the addresses 10.0.99.N:7369 by free loopback ports, <fwN's
# key> by that key, paths under / and /tmp by the same paths under the
# scratch directory, `serve` by `serve -f` in the background, and init
# gets a --root in the scratch directory.  An rcctl that logs stands in
# for OpenBSD's; the service checkers are the real ones.  A write may
# exit 3 (a render failed for lack of the rest of the guide); nothing may
# exit 1 or 2.
. "$(dirname "$0")/lib.sh"

command -v mandoc >/dev/null || { echo "skip: no mandoc"; exit 77; }
W="$SCRATCH/cwd"
mkdir -p "$W" "$SCRATCH/bin" "$SCRATCH/var/db" "$SCRATCH/var/unbound/etc"
cat > "$SCRATCH/bin/rcctl" <<EOS
#!/bin/sh
echo "rcctl \$*" >> "$SCRATCH/rcctl.log"
EOS
chmod +x "$SCRATCH/bin/rcctl"
PATH="$SCRATCH/bin:$PATH"
export EDITOR=true CFGSTORE_WAIT=3
head -c 32 /dev/urandom > "$SCRATCH/var/db/dhcpd.key"
printf '. 3600 IN NS a.root-servers.net.\n' > "$SCRATCH/var/unbound/etc/root.hints"
printf '$ORIGIN home.example.com.\n@ 3600 IN SOA ns hostmaster 1 3600 900 604800 300\n@ 3600 IN NS ns\nns 3600 IN A 10.0.0.53\n' \
    > "$W/home.example.com.zone"
printf 'pkg_scripts=\n' > "$W/my-rc.conf.local"
p1=$(free_port); p2=$(free_port)
pids=""

# run NODE LINE: LINE as a shell runs it, with NODE's store.
run() {
	node=$1 line=$2
	case $line in
	"cfgstore serve")
		"$CFGSTORE" -d "$SCRATCH/$node" serve -f >> "$SCRATCH/$node.log" 2>&1 &
		test_pids="$test_pids $!"
		wait_for test -S "$SCRATCH/$node/serve.sock" ||
		    { cat "$SCRATCH/$node.log"; fail "$node: serve did not start"; }
		echo "ok: $node# $line (as serve -f, in the background)"
		return ;;
	esac
	cmd=$(printf '%s\n' "$line" | sed \
	    -e "s|<fw1's key>|\$(\"\$CFGSTORE\" -d \"\$SCRATCH/fw1\" key)|g" \
	    -e "s|<fw2's key>|\$(\"\$CFGSTORE\" -d \"\$SCRATCH/fw2\" key)|g" \
	    -e "s|10\.0\.99\.1:7369|127.0.0.1:$p1|g" \
	    -e "s|10\.0\.99\.2:7369|127.0.0.1:$p2|g" \
	    -e "s| /tmp/| $SCRATCH/tmp-|g" \
	    -e "s| /var/| $SCRATCH/var/|g" \
	    -e "s|^cfgstore |\"\$CFGSTORE\" -d \"\$SCRATCH/$node\" |")
	case $line in
	"cfgstore init "*) cmd="$cmd --root '$SCRATCH/root-$node'" ;;
	esac
	(cd "$W" && CFGSTORE="$CFGSTORE" SCRATCH="$SCRATCH" sh -c "$cmd") \
	    > "$SCRATCH/out" 2> "$SCRATCH/err" < /dev/null
	rc=$?
	case $rc in
	0) ;;
	3) case $line in *" set "*|*" del "*|*" apply "*|*" rollback"*|*" confirm") ;;
	   *) cat "$SCRATCH/err"; fail "$node# $line: exit 3";; esac ;;
	*) cat "$SCRATCH/out" "$SCRATCH/err"; fail "$node# $line: exit $rc";;
	esac
	echo "ok: $node# $line (exit $rc)"
}

# examples FILE: the "fwN# cfgstore" and "# cfgstore" lines of FILE.
examples() {
	sed -n 's/^[[:space:]]*\(fw[12]\)\{0,1\}# \(cfgstore .*\)$/\1 \2/p' "$1"
}
run_all() {
	while IFS= read -r l; do
		case $l in
		"fw2 "*) run fw2 "${l#fw2 }" ;;
		"fw1 "*) run fw1 "${l#fw1 }" ;;
		*) run fw1 "${l# }" ;;
		esac
	done
}
stop_all() {
	for p in $test_pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	test_pids=""
	for n in fw1 fw2; do
		! grep -q "Sanitizer\|runtime error:" "$SCRATCH/$n.log" 2>/dev/null ||
		    { cat "$SCRATCH/$n.log"; fail "$n: sanitizer report"; }
	done
}

step "README: Using it"
sed -n '/^## Using it/,/^## /p' "$SRCDIR/README.md" > "$SCRATCH/readme"
examples "$SCRATCH/readme" > "$SCRATCH/readme.ex"
[ "$(wc -l < "$SCRATCH/readme.ex")" -ge 10 ] || fail "too few README examples"
grep -q '^fw1 cfgstore serve$' "$SCRATCH/readme.ex" || fail "the README never starts serve on fw1"
grep -q '^fw2 cfgstore serve$' "$SCRATCH/readme.ex" || fail "the README never starts serve on fw2"
run_all < "$SCRATCH/readme.ex"
# What the README promises: fw2 has the commits, with its override.
head1=$("$CFGSTORE" -d "$SCRATCH/fw1" log -n 1 | cut -d' ' -f1)
wait_for sh -c "'$CFGSTORE' -d '$SCRATCH/fw2' log -n 1 | grep -q '^$head1 '" ||
    fail "fw2 does not hold $head1"
expect 0 "$CFGSTORE" -d "$SCRATCH/fw2" get --host fw2 ntpd.listen; assert_out 10.0.0.3
stop_all
rm -rf "$SCRATCH/fw1" "$SCRATCH/fw2" "$SCRATCH/root-fw1" "$SCRATCH/root-fw2" "$SCRATCH"/tmp-*

step "cfgstore(8): EXAMPLES, as rendered"
mandoc -Tascii "$SRCDIR/cli/cfgstore.8" | col -b | sed -n '/^EXAMPLES/,/^SEE ALSO/p' > "$SCRATCH/man"
examples "$SCRATCH/man" > "$SCRATCH/man.ex"
[ "$(wc -l < "$SCRATCH/man.ex")" -ge 20 ] || fail "too few man page examples"
run_all < "$SCRATCH/man.ex"
expect 0 "$CFGSTORE" -d "$SCRATCH/tmp-new" get --host fw2 dhcpd.flags
assert_out '-Y vr2 -y vr2 vr0'

step "cfgstore(8): the commands quoted in its text"
mandoc -Tascii "$SRCDIR/cli/cfgstore.8" | col -b | python3 -c '
import re, sys
text = " ".join(sys.stdin.read().split())
for m in re.findall(r"`(cfgstore [^\x27]*)\x27", text):
    print(m)' > "$SCRATCH/quoted.ex"
[ "$(wc -l < "$SCRATCH/quoted.ex")" -ge 2 ] || fail "too few quoted examples"
sed 's/^/fw1 /' "$SCRATCH/quoted.ex" > "$SCRATCH/quoted.run"
run_all < "$SCRATCH/quoted.run"
expect 0 "$CFGSTORE" -d "$SCRATCH/fw1" get x.flag; assert_out '-m'

step "docs/: every \`cfgstore set ...\` without a placeholder"
# pf.enable is named in the text before the block that sets its macros
# first; the write checks refuse it alone, as docs/SERVICES.md says.
grep -oh '`cfgstore set [^`]*`' "$SRCDIR"/docs/*.md | tr -d '`' | sort -u |
    grep -v ' KEY\b\|[A-Z][A-Z]\|pf\.enable' > "$SCRATCH/docs.ex"
[ "$(wc -l < "$SCRATCH/docs.ex")" -ge 8 ] || fail "too few docs examples"
sed 's/^/fw1 /' "$SCRATCH/docs.ex" > "$SCRATCH/docs.run"
run_all < "$SCRATCH/docs.run"
expect 0 "$CFGSTORE" -d "$SCRATCH/fw1" get service.unbound.restart@fw2
expect 0 "$CFGSTORE" -d "$SCRATCH/fw1" verify
stop_all
ok "the examples run as written"
