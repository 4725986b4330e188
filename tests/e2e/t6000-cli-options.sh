#!/bin/sh
# The command line has no traps: options come first and one after an
# operand is an error that says so, "--" ends options for every command,
# no key can read as an option, rollback N is revision N and -N N is N
# commits back, and help, --help and --version agree with cfgstore(8).
. "$(dirname "$0")/lib.sh"

expect 0 "$CFGSTORE" init --node fw1 --primary
r1=1

step "an option after the first operand is bad usage and writes nothing"
for args in "set ntpd.listen 10.0.0.2 -m msg" "set ntpd.listen 10.0.0.2 --no-wait" \
    "set ntpd.listen -m msg" "del ntpd.listen --no-wait" "apply - -m msg" \
    "get ntpd.listen --json" "list ntpd --rev 1" "log ntpd -n 1" \
    "show 1 --raw" "diff 1 --json" "rollback 1 -m msg" "edit ntpd -y" \
    "export - --rev 1"; do
	# shellcheck disable=SC2086
	expect 2 "$CFGSTORE" $args
	assert_err_line "^cfgstore: options come first: '-[-a-z]+' after '[^']+' \(see 'cfgstore ${args%% *} --help'; '--' before a value that begins with '-'\)$"
done
expect 0 "$CFGSTORE" log -n 1
assert_grep "^r$r1 " "$SCRATCH/out"

step "words that are not the command's options are values, in order"
expect 0 "$CFGSTORE" set --no-wait x.flags -Y em2 -y em2 em0
expect 0 "$CFGSTORE" get --json x.flags
assert_out '[
  "-Y",
  "em2",
  "-y",
  "em2",
  "em0"
]'
expect 0 "$CFGSTORE" set --no-wait dhcpd.flags "-Y em2 -y em2 em0"
expect 0 "$CFGSTORE" get dhcpd.flags; assert_out '-Y em2 -y em2 em0'

step "-- ends options for every command"
expect 0 "$CFGSTORE" set --no-wait -m "with --" x.opt -- -m msg
expect 0 "$CFGSTORE" get --json x.opt; assert_out '[
  "-m",
  "msg"
]'
expect 0 "$CFGSTORE" set --no-wait x.one -- --list
expect 0 "$CFGSTORE" get -- x.one; assert_out '--list'
expect 0 "$CFGSTORE" get --json -- x.one; assert_out '"--list"'
expect 0 "$CFGSTORE" list -- x.one; assert_out 'x.one = --list'
expect 0 "$CFGSTORE" log -n 1 -- x.one
assert_grep '^    set x.one$' "$SCRATCH/out"
expect 0 "$CFGSTORE" show -- 2
expect 0 "$CFGSTORE" diff -- 1 2
expect 0 "$CFGSTORE" del --no-wait -- x.one
printf 'set x.two 2\n' > "$SCRATCH/batch"
expect 0 "$CFGSTORE" apply --no-wait -- "$SCRATCH/batch"
expect 0 "$CFGSTORE" get x.two; assert_out 2
# Commands without options take it too.
expect 0 "$CFGSTORE" key --; cp "$SCRATCH/out" "$SCRATCH/key"
expect 0 "$CFGSTORE" key; cmp -s "$SCRATCH/out" "$SCRATCH/key" || fail "key -- differs"
expect 0 "$CFGSTORE" verify --
expect 0 "$CFGSTORE" peer -- list
expect 0 "$CFGSTORE" help -- set
assert_grep '^usage: cfgstore \[-d DIR\] set ' "$SCRATCH/out"

step "no key component starts with anything but a letter or digit"
for k in -x --list --file x.-y x._y _x "x.--help"; do
	expect 2 "$CFGSTORE" set --no-wait -- "$k" v
	assert_err_line "invalid key '$k' \(.*each starting with a letter or digit"
done
printf 'set --list --list a\n' > "$SCRATCH/bad"
expect 2 "$CFGSTORE" apply "$SCRATCH/bad"
assert_err_line "bad:1: invalid key '--list'"
expect 0 "$CFGSTORE" set --no-wait 0x.9y_z-w v
expect 0 "$CFGSTORE" get 0x.9y_z-w; assert_out v

step "rollback REV is absolute, -N N is N commits back"
head=$("$CFGSTORE" log -n 1 | sed -n 's/^r\([0-9]*\) .*/\1/p')
expect 0 "$CFGSTORE" set --no-wait rb.key one
expect 0 "$CFGSTORE" set --no-wait rb.key two
expect 0 "$CFGSTORE" set --no-wait rb.key three
expect 0 "$CFGSTORE" rollback --no-wait -N 2 </dev/null
expect 0 "$CFGSTORE" get rb.key; assert_out one
expect 0 "$CFGSTORE" rollback --no-wait -N 1 </dev/null
expect 0 "$CFGSTORE" get rb.key; assert_out three
expect 0 "$CFGSTORE" rollback --no-wait "$head" </dev/null
expect 1 "$CFGSTORE" get rb.key
expect 0 "$CFGSTORE" rollback --no-wait r$((head + 2)) </dev/null
expect 0 "$CFGSTORE" get rb.key; assert_out two
expect 2 "$CFGSTORE" rollback -N 1 3
assert_err_line "usage: cfgstore rollback"
for n in 0 -1 x 1x ""; do
	expect 2 "$CFGSTORE" rollback -N "$n"
	assert_err_line "invalid count '$n' \(-N N: N commits back, from 1\)"
done
expect 1 "$CFGSTORE" rollback -N 100000 </dev/null
assert_err_line "nothing to roll back to: 100000 commits back from r[0-9]+$"
expect 1 "$CFGSTORE" rollback 100000 </dev/null
assert_err_line "100000"

step "help, --help, -h and --version say the same things"
expect 0 "$CFGSTORE" --version
assert_grep '^cfgstore [0-9]+\.[0-9]+' "$SCRATCH/out"
expect 0 "$CFGSTORE" --help; cp "$SCRATCH/out" "$SCRATCH/help1"
expect 0 "$CFGSTORE" help; cmp -s "$SCRATCH/out" "$SCRATCH/help1" || fail "help and --help differ"
expect 0 "$CFGSTORE" -h; cmp -s "$SCRATCH/out" "$SCRATCH/help1" || fail "help and -h differ"
assert_grep '^       cfgstore --version \| --help$' "$SCRATCH/out"
expect 0 "$CFGSTORE" help --help
assert_out 'usage: cfgstore [-d DIR] help [COMMAND]
list the commands, or show one command'"'"'s options'
expect 2 "$CFGSTORE" help nosuch
assert_err_line "unknown command 'nosuch'"
cmds=$(sed -n 's/^  \([a-z]*\) .*/\1/p' "$SCRATCH/help1")
for c in $cmds; do
	expect 0 "$CFGSTORE" help "$c"; cp "$SCRATCH/out" "$SCRATCH/h.help"
	expect 0 "$CFGSTORE" "$c" --help
	cmp -s "$SCRATCH/out" "$SCRATCH/h.help" || fail "$c --help differs from help $c"
	expect 0 "$CFGSTORE" "$c" -h
	cmp -s "$SCRATCH/out" "$SCRATCH/h.help" || fail "$c -h differs from help $c"
done
# -h is help anywhere before --; after it, a value.
expect 0 "$CFGSTORE" set x.flag -h
assert_grep '^usage: cfgstore \[-d DIR\] set ' "$SCRATCH/out"
expect 1 "$CFGSTORE" get x.flag
expect 0 "$CFGSTORE" set --no-wait x.flag -- -h
expect 0 "$CFGSTORE" get x.flag; assert_out -h
ok "options come first, -- everywhere, rollback -N, help"
