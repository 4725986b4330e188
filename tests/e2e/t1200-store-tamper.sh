#!/bin/sh
# Editing bytes of the data file by hand makes verify fail, naming the
# first bad revision: in a commit record, in the state (the key's last
# change), in the index.
. "$(dirname "$0")/lib.sh"

expect 0 "$CFGSTORE" init --node fw1 --primary
expect 0 "$CFGSTORE" set ntpd.listen 10.0.0.2
expect 0 "$CFGSTORE" set -m "msgcanary" carp.carp1.pass canarysecret1
expect 0 "$CFGSTORE" set carp.carp1.advskew 0
expect 0 "$CFGSTORE" verify
rev=$("$CFGSTORE" log --json carp.carp1.pass | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["rev"])')

# tamper CONTEXT: a copy of the store in which every match of the regular
# expression CONTEXT in data.mdb has its "canary" turned to "CANARY";
# prints how many matched.  LMDB leaves stale copies of pages behind, so
# every match is changed: the live one is among them.
tamper() {
	rm -rf "$SCRATCH/t"; cp -a "$CFGSTORE_DIR" "$SCRATCH/t"
	python3 - "$SCRATCH/t/data.mdb" "$1" <<'PY'
import re, sys
path, pattern = sys.argv[1], sys.argv[2].encode("latin-1")
data = open(path, "rb").read()
new, n = re.subn(pattern, lambda m: m.group(0).replace(b"canary", b"CANARY"), data, flags=re.S)
open(path, "wb").write(new)
print(n)
PY
}

step "the commit message lives only in the signed record"
n=$(tamper 'msgcanary')
[ "$n" -ge 1 ] || fail "message not found in the data file"
expect 1 "$CFGSTORE" -d "$SCRATCH/t" verify
assert_err_line "^cfgstore: verify failed at r$rev: r$rev: bad signature$"

step "a value in the signed record (an operation: key, nil, value)"
n=$(tamper 'carp\.carp1\.pass\xc0\xadcanarysecret1')
[ "$n" -ge 1 ] || fail "record copy not found"
expect 1 "$CFGSTORE" -d "$SCRATCH/t" verify
assert_err_line "^cfgstore: verify failed at r$rev: r$rev: bad signature$"

step "a value in the state table (key, then value)"
n=$(tamper 'carp\.carp1\.pass\xadcanarysecret1')
[ "$n" -ge 1 ] || fail "state copy not found"
expect 1 "$CFGSTORE" -d "$SCRATCH/t" verify
assert_err_line "^cfgstore: verify failed at r$rev: r$rev: current value of carp.carp1.pass does not match the history$"
expect 0 "$CFGSTORE" -d "$SCRATCH/t" get carp.carp1.pass
assert_out "CANARYsecret1"

step "a value in the history index (key NUL rev, then value)"
n=$(tamper 'carp\.carp1\.pass\x00.{8}\xadcanarysecret1')
[ "$n" -ge 1 ] || fail "index copy not found"
expect 1 "$CFGSTORE" -d "$SCRATCH/t" verify
assert_err_line "verify failed at r$rev: r$rev: index entry for carp.carp1.pass does not match the commit"

step "the untouched store still verifies"
expect 0 "$CFGSTORE" verify
ok "tamper"
