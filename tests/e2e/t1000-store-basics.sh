#!/bin/sh
# The store from the command line: set, get, list, log, diff, show,
# rollback, verify, on one primary node, as an admin would use them.
. "$(dirname "$0")/lib.sh"

step "init makes a 0700 store, 0600 files and a key"
expect 0 "$CFGSTORE" init --node fw1 --primary
assert_grep '^public key: ' "$SCRATCH/out"
assert_eq "$(stat -c %a "$CFGSTORE_DIR")" 700 "store dir mode"
for f in "$CFGSTORE_DIR"/*.mdb "$CFGSTORE_DIR/node.key" "$CFGSTORE_DIR/node.pub"; do
	assert_eq "$(stat -c %a "$f")" 600 "mode of $f"
done
assert_eq "$(stat -c %s "$CFGSTORE_DIR/node.key")" 64 "secret key size"
expect 0 "$CFGSTORE" key
[ "$(out | wc -c)" -eq 45 ] || fail "key is not one line of 44 characters"
expect 1 "$CFGSTORE" init --node fw1 --primary
assert_err_line 'exists already'
for f in "$CFGSTORE_DIR"/*; do
	assert_eq "$(stat -c %a "$f")" 600 "mode of $f after use"
done
if command -v strace >/dev/null 2>&1; then
	# The new names are durable too: the directory is synced after the files.
	# (LeakSanitizer cannot run under ptrace.)
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	    strace -f -e trace=openat,fsync -o "$SCRATCH/trace" "$CFGSTORE" -d "$SCRATCH/synced" init --node fw1 >/dev/null 2>&1 ||
	    fail "init under strace"
	fd=$(sed -n "s|.*openat(AT_FDCWD, \"$SCRATCH/synced\", O_RDONLY[^)]*O_DIRECTORY.*) = \([0-9]*\)$|\1|p" "$SCRATCH/trace" | tail -n 1)
	[ -n "$fd" ] && grep -q "fsync($fd)" "$SCRATCH/trace" || { cat "$SCRATCH/trace"; fail "init does not fsync the store directory"; }
fi

base=$("$CFGSTORE" log -n 1 --json | python3 -c 'import json,sys; l=json.load(sys.stdin); print(l[0]["rev"] if l else 0)')

step "a peer makes fw2 a known host for overrides"
fw2key=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
expect 0 "$CFGSTORE" peer add fw2 127.0.0.1:7369 "$fw2key"
# From here on commits are durable here but, with no daemon running,
# not on the peer: exit status 3, as documented.
W=3

step "set: strings, overrides, lists, blobs"
expect $W "$CFGSTORE" set -m "ntp on the inside" ntpd.listen 10.0.0.2
expect $W "$CFGSTORE" set ntpd.listen@fw2 10.0.0.3
expect $W "$CFGSTORE" set unbound.interface 10.0.0.53 10.0.0.54
head -c 128 /dev/urandom > "$SCRATCH/dhcpd.key"
printf 'with\0nul\nbytes' >> "$SCRATCH/dhcpd.key"
expect $W "$CFGSTORE" set --file dhcpd.key "$SCRATCH/dhcpd.key"
expect $W "$CFGSTORE" set --list unbound.access-control "10.0.0.0/8 allow"
expect $W "$CFGSTORE" set dhcpd.flags "-Y em2 -y em2 em0"
r=$((base + 6))

step "get resolves overrides per host, and at old revisions"
expect 0 "$CFGSTORE" get ntpd.listen; assert_out 10.0.0.2
expect 0 "$CFGSTORE" get --host fw2 ntpd.listen; assert_out 10.0.0.3
expect 0 "$CFGSTORE" get --host fw1 ntpd.listen; assert_out 10.0.0.2
expect 0 "$CFGSTORE" get unbound.interface
assert_out "10.0.0.53
10.0.0.54"
expect 0 "$CFGSTORE" get dhcpd.key
cmp -s "$SCRATCH/out" "$SCRATCH/dhcpd.key" || fail "blob does not come back byte for byte"
expect 0 "$CFGSTORE" get dhcpd.flags; assert_out "-Y em2 -y em2 em0"
expect $W "$CFGSTORE" set ntpd.listen 10.0.0.7
expect 0 "$CFGSTORE" get --rev $((base + 1)) ntpd.listen; assert_out 10.0.0.2
expect 0 "$CFGSTORE" get ntpd.listen; assert_out 10.0.0.7
expect 1 "$CFGSTORE" get --rev $((base + 1)) dhcpd.key
assert_err_line 'dhcpd.key: not found'
expect 0 "$CFGSTORE" get --json unbound.interface
assert_out '[
  "10.0.0.53",
  "10.0.0.54"
]'
expect 0 "$CFGSTORE" get --json ntpd.listen; assert_out '"10.0.0.7"'
expect 0 "$CFGSTORE" get --json --host fw2 ntpd.listen; assert_out '"10.0.0.3"'
expect 0 "$CFGSTORE" get --json dhcpd.key
python3 -c 'import base64,json,sys; sys.stdout.buffer.write(base64.b64decode(json.load(open(sys.argv[1]))["blob"]))' "$SCRATCH/out" > "$SCRATCH/blob.json"
cmp -s "$SCRATCH/blob.json" "$SCRATCH/dhcpd.key" || fail "get --json of a blob does not give it back"

step "setting a key to its value makes no commit"
expect 0 "$CFGSTORE" set ntpd.listen 10.0.0.7
assert_grep 'unchanged' "$SCRATCH/out"
expect 0 "$CFGSTORE" log -n 1 --json
assert_grep "\"rev\": $((r + 1))," "$SCRATCH/out"

step "list, list --rev and list --host"
expect 0 "$CFGSTORE" list ntpd
assert_out "ntpd.listen = 10.0.0.7
ntpd.listen@fw2 = 10.0.0.3"
expect 0 "$CFGSTORE" list --rev $((base + 1)) ntpd
assert_out "ntpd.listen = 10.0.0.2"
expect 0 "$CFGSTORE" list --host fw2
assert_grep '^ntpd.listen = 10.0.0.3$' "$SCRATCH/out"
assert_no_grep '@' "$SCRATCH/out"
# As cfgstore(8) shows it: what fw2 sees of ntpd.
expect 0 "$CFGSTORE" list --host fw2 ntpd
assert_out "ntpd.listen = 10.0.0.3"
expect 0 "$CFGSTORE" list --host fw1 ntpd
assert_out "ntpd.listen = 10.0.0.7"
expect 0 "$CFGSTORE" list --rev $((base + 2)) --host fw2 ntpd
assert_out "ntpd.listen = 10.0.0.3"
expect 0 "$CFGSTORE" list --host fw2 --json unbound.interface
assert_out '{
  "unbound.interface": [
    "10.0.0.53",
    "10.0.0.54"
  ]
}'
expect 2 "$CFGSTORE" list --host fw2 ntpd.listen@fw2
assert_err_line "invalid prefix 'ntpd.listen@fw2'"

step "log says who, when, where, what and why"
expect 0 "$CFGSTORE" log -n 2
assert_grep "^r$((r + 1))  [0-9a-f]{12}  [0-9T:-]+Z  [^ ]+@fw1  \(no message\)$" "$SCRATCH/out"
assert_grep '^    set ntpd.listen$' "$SCRATCH/out"
# A prefix, as list takes it: the override's commit too.
expect 0 "$CFGSTORE" log ntpd.listen
[ "$(grep -c '^r' "$SCRATCH/out")" -eq 3 ] || fail "log PREFIX lists 3 commits"
assert_grep 'ntp on the inside' "$SCRATCH/out"
expect $W env SUDO_USER=alice "$CFGSTORE" set -m "by alice" ntpd.servers pool.ntp.org
expect 0 "$CFGSTORE" log -n 1
assert_grep ' alice@fw1  by alice$' "$SCRATCH/out"

step "diff between revisions"
expect 0 "$CFGSTORE" diff $((base + 1)) $((r + 1))
assert_grep '^- ntpd.listen = 10.0.0.2$' "$SCRATCH/out"
assert_grep '^\+ ntpd.listen = 10.0.0.7$' "$SCRATCH/out"
assert_grep '^\+ dhcpd.key = <blob 142 bytes' "$SCRATCH/out"
expect 0 "$CFGSTORE" diff
assert_out "+ ntpd.servers = pool.ntp.org"
# 0 is the empty store: diff 0 N is all of N, diff N 0 all of it gone.
expect 0 "$CFGSTORE" diff 0 $((r + 2))
"$CFGSTORE" export --rev $((r + 2)) | wc -l > "$SCRATCH/n"
[ "$(grep -c '^+ ' "$SCRATCH/out")" -eq "$(cat "$SCRATCH/n")" ] || fail "diff 0 N is not all of N"
assert_no_grep '^- ' "$SCRATCH/out"
expect 0 "$CFGSTORE" diff $((r + 2)) 0
[ "$(grep -c '^- ' "$SCRATCH/out")" -eq "$(cat "$SCRATCH/n")" ] || fail "diff N 0 is not all of N gone"
expect 0 "$CFGSTORE" diff 0 0
[ ! -s "$SCRATCH/out" ] || fail "diff 0 0 is not empty"

step "show and show --raw"
expect 0 "$CFGSTORE" show $((base + 1))
assert_grep '^\+ ntpd.listen = 10.0.0.2$' "$SCRATCH/out"
assert_grep '^signer  ' "$SCRATCH/out"
expect 0 "$CFGSTORE" show --raw $((base + 1))
[ "$(od -An -tx1 -N1 "$SCRATCH/out" | tr -d ' ')" = 93 ] || fail "raw commit is not a 3-element msgpack array"

step "rollback makes a new commit with the old state; history is kept"
before=$("$CFGSTORE" export)
expect $W "$CFGSTORE" set ntpd.listen 10.9.9.9
expect $W "$CFGSTORE" del dhcpd.flags
expect $W "$CFGSTORE" rollback $((r + 2))
expect 0 "$CFGSTORE" export
[ "$(out)" = "$before" ] || fail "state after rollback differs"
expect 0 "$CFGSTORE" log -n 1
assert_grep "rollback to r$((r + 2))" "$SCRATCH/out"
expect 0 "$CFGSTORE" get --rev $((r + 3)) ntpd.listen; assert_out 10.9.9.9
# The default target is the revision before head: this undoes the rollback.
expect $W "$CFGSTORE" rollback
expect 1 "$CFGSTORE" get dhcpd.flags
assert_err_line 'dhcpd.flags: not found'
expect 0 "$CFGSTORE" get ntpd.listen; assert_out 10.9.9.9

step "every --json output is one JSON document"
json_ok() { python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$SCRATCH/out" || fail "not JSON: $*"; }
for args in "list" "list --host fw2" "list --rev $((base + 1))" "log" \
    "log ntpd.listen" "show $((base + 1))" "diff" "diff $((base + 1)) $((r + 1))" \
    "peer list" "get ntpd.servers"; do
	# Options come first: --json right after the command (peer's after list).
	# shellcheck disable=SC2086
	set -- $args
	if [ "$1" = peer ]; then expect 0 "$CFGSTORE" "$@" --json
	else c=$1; shift; expect 0 "$CFGSTORE" "$c" --json "$@"; fi
	json_ok $args
done
[ "$("$CFGSTORE" log --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "$("$CFGSTORE" log | grep -c '^r')" ] ||
    fail "log --json and log list different commits"

step "options come first; -- ends them; -h and --help ask for help before --"
expect 2 "$CFGSTORE" set x.flag v -m msg
assert_err_line "^cfgstore: options come first: '-m' after 'x.flag' \(see 'cfgstore set --help'; '--' before a value that begins with '-'\)$"
expect 1 "$CFGSTORE" get x.flag
expect 2 "$CFGSTORE" list ntpd --json
assert_err_line "options come first: '--json' after 'ntpd'"
expect 2 "$CFGSTORE" rollback 3 --no-wait
assert_err_line "options come first: '--no-wait' after '3'"
expect 0 "$CFGSTORE" set x.flag -h
assert_grep '^usage: cfgstore \[-d DIR\] set ' "$SCRATCH/out"
expect 1 "$CFGSTORE" get x.flag
expect $W "$CFGSTORE" set x.flag -Y em2 -y em2 em0
expect 0 "$CFGSTORE" get x.flag; assert_out '-Y
em2
-y
em2
em0'
expect $W "$CFGSTORE" set x.flag -- --help
expect 0 "$CFGSTORE" get x.flag; assert_out '--help'
expect $W "$CFGSTORE" set x.flag -- -h
expect 0 "$CFGSTORE" get --json x.flag; assert_out '"-h"'
expect $W "$CFGSTORE" set x.list a -- b
expect 0 "$CFGSTORE" get --json x.list; assert_out '[
  "a",
  "b"
]'
expect $W "$CFGSTORE" set -- x.list a -- b
expect 0 "$CFGSTORE" get x.list; assert_out 'a
--
b'
expect $W "$CFGSTORE" set -m -h x.flag -v
expect 0 "$CFGSTORE" log -n 1
assert_grep '@fw1  -h$' "$SCRATCH/out"
expect $W "$CFGSTORE" del x.list -- x.flag
expect 1 "$CFGSTORE" get x.flag
for args in "set --help" "set -m msg -h" "set -h x.flag v" "get x.flag --help" \
    "get -h" "list --json -h" "log -n 1 --help" "rollback -m m --help" \
    "del -h" "init --node fw1 --help" "peer list --help"; do
	# shellcheck disable=SC2086
	expect 0 "$CFGSTORE" $args
	assert_grep "^usage: cfgstore \[-d DIR\] ${args%% *} " "$SCRATCH/out"
done

step "the author comes from the environment, but cannot add lines to the log"
expect $W env SUDO_USER="$(printf 'mallory\nr99  0  now  root\377')" "$CFGSTORE" set -m "tab	and — UTF-8 are fine" ntpd.servers 2.pool.ntp.org
expect 0 "$CFGSTORE" log -n 1
assert_grep ' mallory\?r99  0  now  root\?@fw1  tab	and — UTF-8 are fine$' "$SCRATCH/out"
[ "$(wc -l < "$SCRATCH/out")" -eq 2 ] || fail "log -n 1 is not two lines"
expect 0 "$CFGSTORE" log -n 1 --json
assert_grep '"author": "mallory\?r99  0  now  root\?"' "$SCRATCH/out"

step "verify checks the whole history"
expect 0 "$CFGSTORE" verify
assert_grep '^verified r1\.\.r' "$SCRATCH/out"
ok "store basics"
