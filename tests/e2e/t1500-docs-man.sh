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

step "every option a command's --help lists is in its entry of the man page"
for c in $cmds; do
	# The command's entries: from each ".It Cm c" to the next ".It Cm".
	awk -v c="$c" '/^\.It Cm / { on = ($3 == c) } on' "$man" > "$SCRATCH/entry"
	"$CFGSTORE" "$c" --help | sed -n 's/^\(-[-a-zA-Z]*\).*/\1/p' > "$SCRATCH/opts"
	while read -r o; do
		[ "$o" = "--" ] && continue
		grep -q "Fl ${o#-}\b" "$SCRATCH/entry" ||
		    fail "$c --help lists $o, its man page entry does not"
	done < "$SCRATCH/opts"
done
step "--version and --help are documented"
grep -q '^\.Fl -version' "$man" || fail "man page lacks --version"
expect 0 "$CFGSTORE" --version
assert_grep '^cfgstore [0-9]' "$SCRATCH/out"
ok "every --help option documented"
