#!/bin/sh
# Every bad input gets one clear line, its exit status, and changes
# nothing: the state, the history and the head stay as they were.
. "$(dirname "$0")/lib.sh"

expect 0 "$CFGSTORE" init --node fw1 --primary
expect 0 "$CFGSTORE" set ntpd.listen 10.0.0.2
expect 0 "$CFGSTORE" set unbound.interface 10.0.0.53 10.0.0.54
snapshot() { "$CFGSTORE" export; "$CFGSTORE" log; }
snapshot > "$SCRATCH/before"

# refused STATUS PATTERN CMD...: exits STATUS with one matching error
# line, and the store is untouched.
refused() {
	status=$1 pattern=$2; shift 2
	expect "$status" "$@"
	assert_err_line "$pattern"
	snapshot > "$SCRATCH/after"
	cmp -s "$SCRATCH/before" "$SCRATCH/after" || {
		diff "$SCRATCH/before" "$SCRATCH/after"; fail "store changed by: $*"; }
	ok "$*"
}

step "invalid keys"
refused 2 "invalid key 'bad key'" "$CFGSTORE" set "bad key" x
refused 2 "invalid key '\.ntpd'" "$CFGSTORE" set .ntpd x
refused 2 "invalid key 'ntpd\.\.listen'" "$CFGSTORE" set ntpd..listen x
refused 2 "invalid key 'ntpd\.'" "$CFGSTORE" del ntpd.
refused 2 "invalid host in key" "$CFGSTORE" set ntpd.listen@ x
refused 2 "invalid host in key" "$CFGSTORE" set "ntpd.listen@fw 2" x
long=$(python3 -c 'print("k" * 300)')
refused 2 "key too long: 300 bytes \(limit 255\)" "$CFGSTORE" set "$long" x
refused 2 "invalid key" "$CFGSTORE" get "a b"

step "values too large or not text"
python3 -c 'import sys; sys.stdout.buffer.write(b"x" * (8 * 1024 * 1024 + 1))' > "$SCRATCH/big"
refused 2 "value too large: 8388609 bytes \(limit 8388608\)" "$CFGSTORE" set --file zone.big "$SCRATCH/big"
refused 2 "control character 0x0a" "$CFGSTORE" set ntpd.listen "$(printf '10.0.0.2\ninclude /etc/evil')"
refused 2 "not valid UTF-8" "$CFGSTORE" set ntpd.listen "$(printf '\377')"
refused 2 "not valid UTF-8" "$CFGSTORE" set ntpd.listen "$(printf '\340\200\257')"
refused 2 "not valid UTF-8" "$CFGSTORE" set ntpd.listen "$(printf '\355\240\200')"
refused 2 "not valid UTF-8" "$CFGSTORE" set ntpd.listen "$(printf '\364\220\200\200')"
refused 2 "No such file" "$CFGSTORE" set --file dhcpd.key "$SCRATCH/missing"
python3 -c 'print("set --list many " + " ".join(["a"] * 65536))' > "$SCRATCH/many"
refused 2 "list too long: 65536 items" "$CFGSTORE" apply "$SCRATCH/many"
msg=$(python3 -c 'print("m" * 5000)')
refused 2 "message too long" "$CFGSTORE" set -m "$msg" ntpd.listen 10.0.0.9

step "commit messages are one line of text"
forged=$(printf 'fix
r99  000000000000  2026-01-01T00:00:00Z  root@fw1  forged')
refused 2 "^cfgstore: message contains control character 0x0a \(one line of text\)$" "$CFGSTORE" set -m "$forged" ntpd.listen 10.0.0.9
refused 2 "message contains control character 0x0d" "$CFGSTORE" del -m "$(printf 'a\rb')" ntpd.listen
refused 2 "message contains control character 0x1b" "$CFGSTORE" rollback -m "$(printf '\033[2J')" 2
refused 2 "^cfgstore: message is not valid UTF-8$" "$CFGSTORE" set -m "$(printf 'caf\351')" ntpd.listen 10.0.0.9
printf 'set ntpd.listen 10.0.0.9\n' > "$SCRATCH/batch0"
refused 2 "^cfgstore: message is not valid UTF-8$" "$CFGSTORE" apply -m "$(printf '\355\240\200')" "$SCRATCH/batch0"

step "overrides for unknown hosts"
refused 2 "^cfgstore: unknown host 'fw9' in key 'ntpd.listen@fw9' \(known: fw1; add it first: cfgstore peer add fw9 ADDR:PORT KEY\)$" "$CFGSTORE" set ntpd.listen@fw9 10.0.0.3

step "bad usage of cfgstore itself: one line on stderr, no help"
refused 2 "^cfgstore: usage: cfgstore \[-d DIR\] COMMAND \[ARGS\] \(see 'cfgstore help'\)$" "$CFGSTORE"
[ ! -s "$SCRATCH/out" ] || fail "bad usage printed on stdout"
refused 2 "^cfgstore: unknown option '-x' \(see 'cfgstore help'\)$" "$CFGSTORE" -x
refused 2 "^cfgstore: option '-d' needs an argument \(see 'cfgstore help'\)$" "$CFGSTORE" -d
refused 2 "^cfgstore: unknown option '--bogus' \(see 'cfgstore help'\)$" "$CFGSTORE" --bogus list
[ ! -s "$SCRATCH/out" ] || fail "bad usage printed on stdout"
expect 0 "$CFGSTORE" help
assert_grep '^usage: cfgstore \[-d DIR\] COMMAND' "$SCRATCH/out"
[ ! -s "$SCRATCH/err" ] || fail "help printed on stderr"
expect 0 "$CFGSTORE" --help
assert_grep '^Commands:' "$SCRATCH/out"
expect 0 "$CFGSTORE" set --help
assert_grep '^usage: cfgstore \[-d DIR\] set ' "$SCRATCH/out"
[ ! -s "$SCRATCH/err" ] || fail "help printed on stderr"

step "bad usage"
refused 2 "usage: cfgstore" "$CFGSTORE" set ntpd.listen
refused 2 "unknown command 'frobnicate'" "$CFGSTORE" frobnicate
refused 2 "invalid revision 'abc'" "$CFGSTORE" get --rev abc ntpd.listen
refused 2 "invalid revision '0'" "$CFGSTORE" show 0
refused 2 "usage: cfgstore" "$CFGSTORE" set --bogus k v
refused 2 "invalid count" "$CFGSTORE" log -n 0
refused 2 "invalid public key" "$CFGSTORE" peer add fw2 10.0.99.2:7369 notakey
refused 2 "^cfgstore: invalid public key: not plain text" "$CFGSTORE" peer add fw2 10.0.99.2:7369 "$(printf 'k\033[31m')"
refused 2 "invalid peer address" "$CFGSTORE" peer add fw2 10.0.99.2 "$("$CFGSTORE" key)"
refused 2 "invalid node name" "$CFGSTORE" peer add "fw 2" 10.0.99.2:7369 "$("$CFGSTORE" key)"
refused 2 "invalid node name .-fw2. \\(it starts" "$CFGSTORE" -d "$SCRATCH/fresh" init --node -fw2
[ ! -e "$SCRATCH/fresh" ] || fail "init with a bad name left $SCRATCH/fresh"
refused 2 "own name" "$CFGSTORE" peer add fw1 10.0.99.2:7369 "$("$CFGSTORE" key)"

step "failures: not found, no such revision"
refused 1 "nope.key: not found" "$CFGSTORE" del ntpd.listen nope.key
refused 1 "nope.key: not found" "$CFGSTORE" get nope.key
refused 1 "no revision 99" "$CFGSTORE" show 99
refused 1 "^cfgstore: no revision 99 \(head is r[0-9]+\)$" "$CFGSTORE" diff 99
refused 1 "^cfgstore: no revision 99 \(head is r[0-9]+\)$" "$CFGSTORE" diff 0 99
refused 1 "^cfgstore: no revision 99 \(head is r[0-9]+\)$" "$CFGSTORE" rollback 99
refused 2 "^cfgstore: invalid revision '0'$" "$CFGSTORE" rollback 0
refused 2 "^cfgstore: unknown host 'nohost' \(not this node, a peer or the host of an override; known: fw1\)$" "$CFGSTORE" get --host nohost ntpd.listen
refused 2 "^cfgstore: unknown host 'nohost'" "$CFGSTORE" list --host nohost
refused 2 "^cfgstore: invalid node name" "$CFGSTORE" get --host "no host" ntpd.listen
refused 1 "^cfgstore: no revision 99 \(head is r[0-9]+\)$" "$CFGSTORE" get --rev 99 ntpd.listen
refused 1 "^cfgstore: no revision 99 \(head is r[0-9]+\)$" "$CFGSTORE" get --rev 99 --host fw1 ntpd.listen
refused 1 "^cfgstore: no revision 99 \(head is r[0-9]+\)$" "$CFGSTORE" list --rev 99
refused 1 "no store in" "$CFGSTORE" -d "$SCRATCH/nowhere" get ntpd.listen

step "a bad line anywhere in a batch writes nothing and names the line"
cat > "$SCRATCH/batch" <<'BATCH'
# a batch with one bad line
set ntpd.listen 10.0.0.9
set unbound.interface 10.0.0.1 10.0.0.2
set "bad key" x
del ntpd.listen
BATCH
refused 2 "batch:4: invalid key 'bad key'" "$CFGSTORE" apply "$SCRATCH/batch"
printf 'set a.b "unterminated\n' > "$SCRATCH/batch2"
refused 2 "batch2:1: unterminated quote" "$CFGSTORE" apply "$SCRATCH/batch2"
printf 'set a.b x\nfrob a.b\n' > "$SCRATCH/batch3"
refused 2 "batch3:2: unknown operation 'frob'" "$CFGSTORE" apply "$SCRATCH/batch3"
printf 'set a.b x\nset --blob c.d !!!\n' > "$SCRATCH/batch4"
refused 2 "batch4:2: invalid base64" "$CFGSTORE" apply "$SCRATCH/batch4"

step "what the commit finds wrong in a batch names the line too"
printf 'set a.b x\ndel nope.key\n' > "$SCRATCH/batch5"
refused 1 "^cfgstore: .*/batch5:2: nope.key: not found$" "$CFGSTORE" apply "$SCRATCH/batch5"
printf '# overrides\nset a.b x\n\nset ntpd.listen@fw9 10.0.0.3\n' > "$SCRATCH/batch6"
refused 2 "^cfgstore: .*/batch6:4: unknown host 'fw9' in key 'ntpd.listen@fw9'" "$CFGSTORE" apply "$SCRATCH/batch6"
# The last line on a key is the one that counts, and the one named.
printf 'set zz.top x\nset a.b y\ndel zz.top\n' > "$SCRATCH/batch7"
refused 1 "^cfgstore: .*/batch7:3: zz.top: not found$" "$CFGSTORE" apply "$SCRATCH/batch7"
printf 'del nope.key\n' > "$SCRATCH/batch8"
refused 1 "^cfgstore: stdin:1: nope.key: not found$" "$CFGSTORE" apply - < "$SCRATCH/batch8"

step "init takes a new or an empty directory, never one with other things in it"
D="$SCRATCH/busy"
mkdir -m 0755 "$D"; echo keep > "$D/other"
refused 2 "^cfgstore: .*/busy is not empty and holds no store \(init makes a new directory or takes an empty one\)$" "$CFGSTORE" -d "$D" init --node fw1 --primary
assert_eq "$(stat -c %a "$D")" 755 "mode of a refused directory"
assert_eq "$(ls -A "$D")" other "contents of a refused directory"
echo file > "$SCRATCH/plain"
refused 2 "^cfgstore: .*/plain is not a directory$" "$CFGSTORE" -d "$SCRATCH/plain" init --node fw1
assert_eq "$(cat "$SCRATCH/plain")" file "a refused file"
E=$(mktemp -d "$SCRATCH/empty.XXXXXX"); chmod 0755 "$E"
expect 0 "$CFGSTORE" -d "$E" init --node fw1
assert_eq "$(stat -c %a "$E")" 700 "mode of an empty directory init took"
expect 0 "$CFGSTORE" -d "$SCRATCH/new" init --node fw1
assert_eq "$(stat -c %a "$SCRATCH/new")" 700 "mode of a directory init made"

step "a replica refuses writes and names the primary"
R="$SCRATCH/fw2"
expect 0 "$CFGSTORE" -d "$R" init --node fw2
expect 1 "$CFGSTORE" -d "$R" set ntpd.listen 10.0.0.3
assert_err_line 'fw2 is a replica: write on the primary \(no primary known\)'
expect 0 "$CFGSTORE" -d "$R" peer add fw1 127.0.0.1:7369 "$("$CFGSTORE" key)"
expect 1 "$CFGSTORE" -d "$R" set ntpd.listen 10.0.0.3
assert_err_line 'fw2 is a replica: write on the primary, fw1$'
expect 1 "$CFGSTORE" -d "$R" rollback 1
assert_err_line 'write on the primary, fw1$'

step "the store is intact after all that"
expect 0 "$CFGSTORE" verify
ok "bad input"
