#!/bin/sh
# The man page is clean under mandoc -Tlint and names every command that
# `cfgstore help` lists; every command has --help.
. "$(dirname "$0")/lib.sh"

man="$SRCDIR/cli/cfgstore.8"
step "mandoc -Tlint"
mandoc -Tlint "$man" > "$SCRATCH/lint" 2>&1
# Cross-references to pages this machine lacks are not the page's fault.
grep -v 'mandoc.db\|lacks .* entry\|referenced manual not found' "$SCRATCH/lint" > "$SCRATCH/lint.real" || true
[ ! -s "$SCRATCH/lint.real" ] || { cat "$SCRATCH/lint.real"; fail "mandoc -Tlint complains"; }

step "every command is documented and has --help"
expect 0 "$CFGSTORE" help
cmds=$(sed -n 's/^  \([a-z]*\) .*/\1/p' "$SCRATCH/out")
[ -n "$cmds" ] || fail "help lists no commands"
for c in $cmds; do
	grep -q "^\.It Cm $c" "$man" || fail "man page lacks $c"
	expect 0 "$CFGSTORE" "$c" --help
	assert_grep "^usage: cfgstore \[-d DIR\] $c" "$SCRATCH/out"
done
ok "man page and help"
