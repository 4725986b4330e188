#!/bin/sh
# Typed values through the command line: every write is checked against
# the schema of the state it makes, a refusal is one line naming key,
# value and rule, exit 2, and writes nothing (the store's bytes and its
# history stay as they were); describe tells what a key is.
. "$(dirname "$0")/lib.sh"

# write CMD...: a write that commits; without a daemon running, a store
# with a peer exits 3 (committed, not yet sent).
write() {
	"$CFGSTORE" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	case $? in
	0|3) ;;
	*) cat "$SCRATCH/err"; fail "$*" ;;
	esac
}

expect 0 "$CFGSTORE" init --node fw1 --primary
pub=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
expect 0 "$CFGSTORE" peer add fw2 127.0.0.1:9 "$pub"
write set --force --no-wait carp.interfaces carp1
write set --no-wait carp.carp1.advskew 0
write set --no-wait carp.carp1.advskew@fw2 128

# refused PATTERN CMD...: exit 2, one line matching PATTERN, and
# data.mdb, the export and the log are byte for byte as before.
refused() {
	pattern=$1; shift
	cp "$CFGSTORE_DIR/data.mdb" "$SCRATCH/data.before"
	"$CFGSTORE" export > "$SCRATCH/before"; "$CFGSTORE" log >> "$SCRATCH/before"
	expect 2 "$@"
	assert_err_line "$pattern"
	cmp -s "$CFGSTORE_DIR/data.mdb" "$SCRATCH/data.before" ||
	    fail "data.mdb changed by: $*"
	"$CFGSTORE" export > "$SCRATCH/after"; "$CFGSTORE" log >> "$SCRATCH/after"
	cmp -s "$SCRATCH/before" "$SCRATCH/after" ||
	    { diff "$SCRATCH/before" "$SCRATCH/after"; fail "history changed by: $*"; }
	ok "refused: $*"
}

step "the shipped schema types what the templates read"
expect 0 "$CFGSTORE" get 'schema.carp.*.advskew'
assert_out "int 0..254 | advertisement skew: 0 on the master, higher on the backup"
expect 0 "$CFGSTORE" list schema.
[ "$(wc -l < "$SCRATCH/out")" -ge 30 ] || fail "fewer shipped records than keys read"

step "a value that does not fit: the exact line, exit 2, nothing written"
refused '^cfgstore: carp\.carp1\.advskew: "12x" is not an integer 0\.\.254$' \
    "$CFGSTORE" set --no-wait carp.carp1.advskew 12x
refused '^cfgstore: carp\.carp1\.advskew@fw2: "255" is not an integer 0\.\.254$' \
    "$CFGSTORE" set --no-wait carp.carp1.advskew@fw2 255
refused '^cfgstore: carp\.carp7\.vhid: "0" is not an integer 1\.\.255$' \
    "$CFGSTORE" set --no-wait carp.carp7.vhid 0
refused '^cfgstore: unbound\.interface: item 2 "10\.0\.0\.x" is not an address with an optional @port$' \
    "$CFGSTORE" set --no-wait unbound.interface 10.0.0.53 10.0.0.x
refused '^cfgstore: dhcpd\.key: a string is not a blob of at most 65536 bytes \(store it with set --file\)$' \
    "$CFGSTORE" set --no-wait dhcpd.key secret
printf 'set ntpd.listen 10.0.0.2\nset dhcpd.subnet.lan.netmask 255.0.255.0\n' > "$SCRATCH/batch"
refused "^cfgstore: $SCRATCH/batch:2: dhcpd\.subnet\.lan\.netmask: \"255\.0\.255\.0\" is not a netmask$" \
    "$CFGSTORE" apply --no-wait "$SCRATCH/batch"
head -c 70000 /dev/zero > "$SCRATCH/key"
refused '^cfgstore: dhcpd\.key: a blob of 70000 bytes is not a blob of at most 65536 bytes$' \
    "$CFGSTORE" set --no-wait --file dhcpd.key "$SCRATCH/key"

step "a malformed schema record is refused the same way"
refused '^cfgstore: schema\.myapp\.port: "int 1\.\." is not a type: int wants MIN\.\.MAX \(see docs/SCHEMA\.md\)$' \
    "$CFGSTORE" set --no-wait schema.myapp.port "int 1.."
refused '^cfgstore: schema\.myapp\.port: "integer" is not a type: unknown type' \
    "$CFGSTORE" set --no-wait schema.myapp.port integer
refused "^cfgstore: invalid key 'schema\.myapp\.port@fw2'" \
    "$CFGSTORE" set --no-wait schema.myapp.port@fw2 port

step "a key of the admin's own, with a type the admin added"
write set --no-wait -m "type myapp.port" schema.myapp.port "port | where myapp listens"
write set --no-wait myapp.port 8080
refused '^cfgstore: myapp\.port: "80800" is not a port 1\.\.65535$' \
    "$CFGSTORE" set --no-wait myapp.port 80800
refused '^cfgstore: myapp\.port@fw2: "http" is not a port 1\.\.65535$' \
    "$CFGSTORE" set --no-wait myapp.port@fw2 http

step "schema and values in one commit: checked against the new schema"
printf 'set schema.myapp.port "one-of http https | a scheme now"\nset myapp.port https\n' > "$SCRATCH/batch"
write apply --no-wait "$SCRATCH/batch"
refused '^cfgstore: myapp\.port: "https" is not one of: http$' \
    "$CFGSTORE" set --no-wait schema.myapp.port "one-of http"

step "del and rollback are checked, and rollback brings its schema back"
expect 0 "$CFGSTORE" log -n 1
old=$(sed -n 's/^r\([0-9]*\) .*/\1/p' "$SCRATCH/out" | head -1)
write del --no-wait schema.myapp.port
write set --no-wait myapp.port anything
write rollback --no-wait "$old"
expect 0 "$CFGSTORE" get schema.myapp.port
assert_out "one-of http https | a scheme now"
expect 0 "$CFGSTORE" get myapp.port
assert_out "https"
refused '^cfgstore: myapp\.port: "anything" is not one of: http, https$' \
    "$CFGSTORE" set --no-wait myapp.port anything
# A rollback to before the admin's type: the key goes untyped again.
write rollback --no-wait 1
expect 1 "$CFGSTORE" get schema.myapp.port
expect 0 "$CFGSTORE" get 'schema.carp.*.advskew'
expect 0 "$CFGSTORE" verify

step "describe tells type, description, readers and the value per host"
# Readers are the files that render: carp1's file needs all of its keys.
printf '%s\n' "set carp.interfaces carp1" "set carp.carp1.advskew 0" \
    "set carp.carp1.advskew@fw2 128" "set carp.carp1.address 10.0.0.53" \
    "set carp.carp1.netmask 255.255.255.0" "set carp.carp1.vhid 132" \
    "set carp.carp1.carpdev em0" "set carp.carp1.pass secret" \
    "set carp.carp1.description \"name server 1\"" > "$SCRATCH/batch"
write apply --no-wait "$SCRATCH/batch"
expect 0 "$CFGSTORE" describe carp.carp1.advskew
assert_out "key:         carp.carp1.advskew
type:        int 0..254 (an integer 0..254)
schema:      schema.carp.*.advskew
description: advertisement skew: 0 on the master, higher on the backup
read by:     carp: /etc/hostname.carp1
fw1          0
fw2          128 (carp.carp1.advskew@fw2)"
expect 0 "$CFGSTORE" describe --json carp.carp1.advskew@fw2
python3 - "$SCRATCH/out" <<'PY' || fail "describe --json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["key"] == "carp.carp1.advskew", d
assert d["schema"] == {"pattern": "carp.*.advskew", "type": "int 0..254",
    "rule": "an integer 0..254",
    "description": "advertisement skew: 0 on the master, higher on the backup"}, d
assert d["read_by"] == [{"service": "carp", "path": "/etc/hostname.carp1"}], d
assert d["values"] == {"fw1": {"value": "0", "from": "carp.carp1.advskew"},
    "fw2": {"value": "128", "from": "carp.carp1.advskew@fw2"}}, d
PY
expect 0 "$CFGSTORE" describe my.own.key
assert_out "key:         my.own.key
type:        none (no schema record types it)
read by:     nothing the manifest installs
fw1          (not set)
fw2          (not set)"
expect 1 "$CFGSTORE" describe --rev 999 carp.carp1.advskew
assert_err_line "no revision 999"
expect 2 "$CFGSTORE" describe "bad key"
assert_err_line "invalid key"
expect 2 "$CFGSTORE" describe
ok "describe"
