#!/bin/sh
# A full disk is an error, never a signal: the store on a 3 MiB tmpfs,
# with and without MDB_WRITEMAP (OpenBSD's mode).  The write that does not
# fit exits 1 with one line saying the disk is full, and the store
# verifies after and takes the write once there is room; init on a full
# disk leaves nothing behind; a replica whose disk is full answers so and
# catches up once there is room.  Needs root (mount).
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "skip: mounting a tmpfs needs root"; exit 77; }
MNT="$SCRATCH/small"
mkdir -p "$MNT"
mount -t tmpfs -o size=3m cfgstore-test "$MNT" ||
    { echo "skip: cannot mount a tmpfs here"; exit 77; }
# Daemons hold the small disk's files open: they go before it does.
trap 'for p in $test_pids; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    umount "$MNT"; cleanup' EXIT

blob() { head -c 262144 /dev/urandom > "$SCRATCH/blob$1"; }

disk_full_writes() {
	mode=$1
	rm -rf "$MNT"/*
	mount -o remount,size=3m "$MNT" || fail "remount"
	export CFGSTORE_DIR="$MNT/store"
	step "$mode: the fourth 256 KiB blob does not fit: exit 1, disk full"
	expect 0 "$CFGSTORE" init --node fw1 --primary
	for i in 1 2 3; do
		blob $i
		expect 0 "$CFGSTORE" set --file blob.b$i "$SCRATCH/blob$i"
	done
	blob 4
	expect 1 "$CFGSTORE" set --file blob.b4 "$SCRATCH/blob4"
	assert_err_line "^cfgstore: [a-z ]+: the disk of $MNT/store is full \(No space left on device\); nothing was written$"
	expect 1 "$CFGSTORE" get blob.b4
	expect 0 "$CFGSTORE" verify
	for i in 1 2 3; do
		"$CFGSTORE" get blob.b$i | cmp -s - "$SCRATCH/blob$i" ||
		    fail "$mode: blob $i changed"
	done
	step "$mode: with room again, the same write goes through"
	mount -o remount,size=8m "$MNT" || fail "remount"
	expect 0 "$CFGSTORE" set --file blob.b4 "$SCRATCH/blob4"
	"$CFGSTORE" get blob.b4 | cmp -s - "$SCRATCH/blob4" || fail "blob 4"
	expect 0 "$CFGSTORE" verify
	ok "$mode: a full disk is exit 1 and one line"
}
disk_full_writes default
CFGSTORE_WRITEMAP=1 disk_full_writes writemap
CFGSTORE_WRITEMAP=1 CFGSTORE_OWN_LOCKS=1 disk_full_writes openbsd

init_on_full_disk() {
	mode=$1
	rm -rf "$MNT"/*
	mount -o remount,size=3m "$MNT" || fail "remount"
	# Leave less room than a primary's first commit needs.
	avail=$(df -k "$MNT" | awk 'NR == 2 { print $4 }')
	head -c $(( (avail - 60) * 1024 )) /dev/zero > "$MNT/filler" ||
	    fail "filler"
	step "$mode: init on a full disk leaves nothing behind"
	expect 1 "$CFGSTORE" -d "$MNT/new" init --node fw1 --primary
	assert_err_line "disk of $MNT/new is full"
	[ ! -e "$MNT/new" ] || { ls -la "$MNT/new"; fail "$mode: init left $MNT/new"; }
	mkdir "$MNT/empty"
	expect 1 "$CFGSTORE" -d "$MNT/empty" init --node fw1 --primary
	[ -z "$(ls -A "$MNT/empty")" ] ||
	    { ls -la "$MNT/empty"; fail "$mode: init left files in an empty directory"; }
	step "$mode: with room again, init works"
	rm "$MNT/filler"
	expect 0 "$CFGSTORE" -d "$MNT/new" init --node fw1 --primary
	expect 0 "$CFGSTORE" -d "$MNT/empty" init --node fw1 --primary
	expect 0 "$CFGSTORE" -d "$MNT/new" verify
	expect 0 "$CFGSTORE" -d "$MNT/new" get service.ntpd.check
	ok "$mode: init is all or nothing"
}
init_on_full_disk default
CFGSTORE_WRITEMAP=1 init_on_full_disk writemap

replica_disk_full() {
	mode=$1
	rm -rf "$MNT"/* "$SCRATCH/fw1" "$SCRATCH/fw2"
	mount -o remount,size=3m "$MNT" || fail "remount"
	step "$mode: fw2's store on the small disk"
	node_init fw1 --primary
	mkdir -p "$SCRATCH/fw2"
	echo "$(free_port)" > "$SCRATCH/fw2/port"
	"$CFGSTORE" -d "$MNT/fw2" init --node fw2 --listen "$(addr fw2)" \
	    >/dev/null || fail "init fw2"
	ln -s "$MNT/fw2" "$SCRATCH/fw2/store"
	pair fw1 fw2
	start fw1
	start fw2
	i=0 full=""
	while [ $i -lt 8 ] && [ -z "$full" ]; do
		i=$((i + 1))
		blob r$i
		on fw1 set --file blob.r$i "$SCRATCH/blobr$i" > "$SCRATCH/out" 2>&1
		case $? in
		0)	;;
		3)	grep -q "^fw2: .*disk of .* is full" "$SCRATCH/out" &&
			    full=$i ;;
		*)	cat "$SCRATCH/out"; fail "$mode: set on fw1" ;;
		esac
	done
	[ -n "$full" ] || { cat "$SCRATCH/out"; fail "$mode: fw2 never said its disk is full"; }
	grep "^fw2: " "$SCRATCH/out"
	kill -0 "$(pid fw2)" || { tail "$SCRATCH/fw2.log"; fail "$mode: fw2's daemon died"; }
	on fw2 verify >/dev/null || fail "$mode: fw2 does not verify"
	step "$mode: with room again, fw2 catches up"
	mount -o remount,size=8m "$MNT" || fail "remount"
	on fw1 set blob.after room >/dev/null 2>&1
	wait_head fw2 "$(head_of fw1)" 30
	same fw1 fw2
	stop fw1
	stop fw2
	ok "$mode: a replica with a full disk says so and catches up"
}
replica_disk_full default
CFGSTORE_WRITEMAP=1 replica_disk_full writemap
