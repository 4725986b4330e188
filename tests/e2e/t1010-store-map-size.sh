#!/bin/sh
# Opening a store does not change its size: 20 commands in a row, reads
# and writes, leave data.mdb within the map it was created with.  Also
# with MDB_WRITEMAP (as on OpenBSD), where LMDB sizes the file to the map.
. "$(dirname "$0")/lib.sh"

MAP=67108864	# the map a new store starts with, 64 MiB

run_mode() {
	mode=$1
	export CFGSTORE_DIR="$SCRATCH/store-$mode"
	expect 0 "$CFGSTORE" init --node fw1 --primary
	size0=$(stat -c %s "$CFGSTORE_DIR/data.mdb")
	[ "$size0" -le $MAP ] || fail "$mode: a new store is $size0 bytes"

	step "$mode: 20 commands"
	i=0
	while [ $i -lt 10 ]; do
		expect 0 "$CFGSTORE" set ntpd.listen "10.0.0.$i"
		expect 0 "$CFGSTORE" get ntpd.listen
		assert_out "10.0.0.$i"
		i=$((i + 1))
	done
	size=$(stat -c %s "$CFGSTORE_DIR/data.mdb")
	[ "$size" -le $MAP ] || fail "$mode: data.mdb grew to $size bytes"
	expect 0 "$CFGSTORE" verify
	ok "$mode: data.mdb is $size bytes after 20 commands ($size0 after init)"
}

run_mode default
CFGSTORE_WRITEMAP=1 run_mode writemap
CFGSTORE_WRITEMAP=1 CFGSTORE_OWN_LOCKS=1 run_mode openbsd
