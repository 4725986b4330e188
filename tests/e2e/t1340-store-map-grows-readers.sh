#!/bin/sh
# The map grows (several times) while other processes have the store
# open and read it: a daemon that holds it open all along, and readers in
# a loop.  No reader fails or reads a wrong value, the daemon sees every
# new head, and verify passes.  Default mode (a 64 MiB map, outgrown by
# 8 MiB blobs) and MDB_WRITEMAP (a 1 MiB map, doubled again and again),
# each also with OpenBSD's locks.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

now_ms() { date +%s%3N; }
# w CMD...: a write on fw1; exit 3 is the daemon's render failing for want
# of the services' values, which this test does not set.
w() { on fw1 "$@" >/dev/null 2>&1; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 3 ]; }

grow_with_readers() {
	mode=$1 size=$2 count=$3
	rm -rf "$SCRATCH/fw1" "$SCRATCH/stop" "$SCRATCH/reader.fail"
	step "$mode: $count blobs of $size bytes while others read"
	node_init fw1 --primary
	start fw1
	w set fixed.key fixed-value || fail "set"
	map0=$(stat -c %s "$(dir fw1)/data.mdb")
	# Readers in other processes, all along.
	( while [ ! -e "$SCRATCH/stop" ]; do
		v=$(on fw1 get fixed.key 2>"$SCRATCH/reader.err") &&
		    [ "$v" = fixed-value ] && on fw1 list blob >/dev/null \
		    2>>"$SCRATCH/reader.err" ||
		    { echo "reader: [$v] $(cat "$SCRATCH/reader.err")" > "$SCRATCH/reader.fail"; }
	  done ) &
	reader=$!
	t0=$(now_ms)
	i=0
	while [ $i -lt "$count" ]; do
		head -c "$size" /dev/urandom > "$SCRATCH/blob"
		w set --file blob.b$i "$SCRATCH/blob" ||
		    fail "$mode: set blob $i"
		on fw1 get blob.b$i | cmp -s - "$SCRATCH/blob" ||
		    fail "$mode: blob $i reads back wrong"
		i=$((i + 1))
	done
	ms=$(( $(now_ms) - t0 ))
	touch "$SCRATCH/stop"
	wait $reader
	[ ! -e "$SCRATCH/reader.fail" ] || fail "$mode: $(cat "$SCRATCH/reader.fail")"
	map=$(stat -c %s "$(dir fw1)/data.mdb")
	[ "$map" -gt "$map0" ] || fail "$mode: the map never grew ($map bytes)"
	step "$mode: the daemon, open all along, sees the head; verify"
	r=$(on fw1 log -n 1 | sed -n 's/^r\([0-9]*\) .*/\1/p')
	wait_for sh -c "'$CFGSTORE' -d '$(dir fw1)' status | grep -q '^head: *r$r '" ||
	    { on fw1 status; fail "$mode: the daemon does not see r$r"; }
	kill -0 "$(pid fw1)" || fail "$mode: the daemon died"
	expect 0 on fw1 verify
	stop fw1
	echo "$mode: data.mdb $map0 -> $map bytes in $count writes, $ms ms, readers never failed"
}

grow_with_readers default 8000000 6
CFGSTORE_OWN_LOCKS=1 grow_with_readers flock 8000000 6
CFGSTORE_WRITEMAP=1 grow_with_readers writemap 2000000 12
CFGSTORE_WRITEMAP=1 CFGSTORE_OWN_LOCKS=1 grow_with_readers openbsd 2000000 12
ok "the map grows under readers"
