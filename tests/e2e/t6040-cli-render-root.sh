#!/bin/sh
# The render root is one of the node's settings: set at init --root (or
# by the first render or serve given one), changed by serve --root, shown
# by status; render without --root writes there, and a render told
# another root is refused unless forced.  --root /x/ and /x are one root.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

root="$SCRATCH/root"
expect 0 "$CFGSTORE" init --node fw1 --primary --root "$root//"
ok_checks() {
	for s in carp dhcpd nsd ntpd unbound; do
		echo "set service.$s.check true"
		echo "set service.$s.restart true"
	done
}
# fw1's part of the guide: no peers, so no overrides for fw2.
{ grep -v '^#\|@fw2' "$SRCDIR/tests/golden/guide.apply"; ok_checks; } > "$SCRATCH/guide"
cd "$SRCDIR/tests/golden" || fail "cd"
expect 0 "$CFGSTORE" apply --no-wait "$SCRATCH/guide"
cd "$SCRATCH" || fail "cd"

step "status shows the root, without doubled or trailing slashes"
expect 0 "$CFGSTORE" status
assert_grep "^root:    $root$" "$SCRATCH/out"
expect 0 "$CFGSTORE" status --json
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["root"] == sys.argv[2], j["root"]' \
    "$SCRATCH/out" "$root" || fail "status --json root"

step "the record is a local record as docs/FORMAT.md has them: {path: str}"
command -v mdb_dump >/dev/null || fail "no mdb_dump (tools/deps.sh installs lmdb-utils)"
mdb_dump -s local "$CFGSTORE_DIR" > "$SCRATCH/local" || fail "mdb_dump"
python3 - "$SCRATCH/local" "$root" <<'EOS' || fail "node.root is not {path: ROOT}"
import sys
lines = [l.strip() for l in open(sys.argv[1])]
i = lines.index(b"node.root".hex())
path = sys.argv[2].encode()
assert len(path) < 256
want = bytes([0x81, 0xa4]) + b"path" + (bytes([0xa0 | len(path)]) if len(path) < 32
    else bytes([0xd9, len(path)])) + path
assert bytes.fromhex(lines[i + 1]) == want, lines[i + 1]
EOS

step "render without --root writes under the node's root"
expect 0 "$CFGSTORE" render
[ -f "$root/etc/ntpd.conf" ] || fail "no $root/etc/ntpd.conf"
expect 0 "$CFGSTORE" render --root "$root/"
expect 0 "$CFGSTORE" render --root "$root"
expect 0 "$CFGSTORE" render --root root

step "another root is refused, writes nothing, unless forced"
other="$SCRATCH/other"
expect 2 "$CFGSTORE" render --root "$other"
assert_err_line "^cfgstore: --root $other is not this node's render root, $root \(set by init --root or serve --root\); --force renders there anyway$"
[ ! -e "$other" ] || fail "a refused render wrote $other"
expect 0 "$CFGSTORE" render --force --root "$other"
[ -f "$other/etc/ntpd.conf" ] || fail "a forced render did not write $other"
expect 0 "$CFGSTORE" status
assert_grep "^root:    $root$" "$SCRATCH/out"
expect 2 "$CFGSTORE" render --root ""
assert_err_line "--root: empty path"

step "serve --root makes its root the node's; serve without one uses it"
port=$(free_port)
S="$SCRATCH/s"
expect 0 "$CFGSTORE" -d "$S" init --node fw9 --listen "127.0.0.1:$port"
expect 0 "$CFGSTORE" -d "$S" status
assert_grep '^root:    /$' "$SCRATCH/out"
"$CFGSTORE" -d "$S" serve -f --root "$SCRATCH/sroot/" > "$SCRATCH/s.log" 2>&1 &
spid=$!; test_pids="$test_pids $spid"
wait_for test -S "$S/serve.sock" || { cat "$SCRATCH/s.log"; fail "serve did not start"; }
expect 0 "$CFGSTORE" -d "$S" status
assert_grep "^root:    $SCRATCH/sroot$" "$SCRATCH/out"
kill "$spid"; wait "$spid" 2>/dev/null
expect 2 "$CFGSTORE" -d "$S" render --root "$root"
assert_err_line "is not this node's render root, $SCRATCH/sroot "

step "status --json: once a peer's error is over, no last_error_time either"
node_init p1 --primary
node_init p2
pair p1 p2
start p1
expect 3 on p1 set ntpd.servers pool.ntp.org
wait_for sh -c "'$CFGSTORE' -d '$(dir p1)' status --json | grep -q '\"last_error\": \"'" ||
    fail "no error recorded for a peer that is down"
start p2
wait_for acked p1 p2 2 || fail "p2 did not catch up"
# Degraded: without the guide's values p1's services fail to render.
expect 4 on p1 status --json
python3 -c '
import json, sys
for p in json.load(open(sys.argv[1]))["peers"]:
    assert (p["last_error"] is None) == (p["last_error_time"] is None), p
' "$SCRATCH/out" || fail "last_error and last_error_time disagree"
stop p2
stop p1
ok "the render root is the node's"
