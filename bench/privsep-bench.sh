#!/bin/bash
# privsep-bench.sh - two builds of the daemon side by side in one run:
# two pairs of nodes on loopback, one run by each build, `set` on the
# primary until the replica acknowledged (rendered), alternating between
# the pairs so both see the same machine.  Then a third node joins each
# primary and stops reading (SIGSTOP), a commit bigger than the socket
# buffers is sent to it, and for STUCK_S seconds `set --no-wait` on the
# primary is timed until the status says fw2 acknowledged it.
#
#	bench/privsep-bench.sh BEFORE_BUILDDIR AFTER_BUILDDIR [ITERATIONS]
#	    [STUCK_S]
#
# Prints median and p99 for each, and the resident memory of every
# process of each daemon (the network process's on its own), before and
# after the stuck phase.
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRCDIR/bench/lib.sh"
B1=$(cd "$1" && pwd)
B2=$(cd "$2" && pwd)
N=${3:-200}
STUCK_S=${4:-15}
scratch

# use_build TAG: CFGSTORE, that of the build run by the nodes of TAG.
use_build() {
	case $1 in
	before)	CFGSTORE="$B1/cli/cfgstore" ;;
	*)	CFGSTORE="$B2/cli/cfgstore" ;;
	esac
}

# pair TAG: fw1_TAG (primary) and fw2_TAG, running the guide.
pair() {
	use_build "$1"
	nodes "fw1_$1" "fw2_$1"
	guide "fw1_$1"
}
guide_file
pair before
pair after

echo "== set on fw1 until fw2 acknowledged (rendered), $N times each, alternating"
: > "$W/lat.before"; : > "$W/lat.after"
for i in $(seq 1 "$N"); do
	for t in before after; do
		use_build $t
		timed on "fw1_$t" set ntpd.listen@fw2 \
		    "10.0.$((i / 250)).$((i % 250 + 1))" >> "$W/lat.$t"
		grep -q "^fw2: applied" "$W/out" || { cat "$W/out"; exit 1; }
	done
done
echo "before: $(stats < "$W/lat.before")"
echo "after:  $(stats < "$W/lat.after")"

# netproc PID: the network process of the daemon PID, if any.
netproc() {
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do
		tr '\0' ' ' < /proc/$c/cmdline | grep -q network-process &&
		    echo "$c"
	done
}

# memory NODES...: resident memory (and its peak) of each daemon.
memory() {
	for t in before after; do
		for n in "$@"; do
			eval "p=\$pid_${n}_$t"
			line="$t $n: daemon $(rss "$p") (peak $(hwm "$p"))"
			for c in $(netproc "$p"); do
				line="$line, network process $(rss "$c")"
				line="$line (peak $(hwm "$c"))"
			done
			echo "$line"
		done
	done
}

echo
echo "== resident memory, KiB"
memory fw1 fw2

# acked TAG PEER REV: fw1_TAG's status says PEER acknowledged REV.
acked() {
	on "fw1_$1" status | grep -q "^  $2 .*acknowledged r$3 "
}

# stuck TAG BUILDDIR: fw3 joins, stops reading, is sent 24 MiB; then
# fw2's acknowledgements are timed for STUCK_S seconds.
stuck() {
	use_build "$1"
	node_init "fw3_$1"
	trust "fw3_$1" "fw1_$1"
	start "fw3_$1"
	trust "fw1_$1" "fw3_$1"
	h=$(head_of "fw1_$1")
	until acked "$1" fw3 "$h"; do sleep 0.1; done
	eval "p=\$pid_fw3_$1"
	stopped="$stopped $p $(netproc "$p")"
	kill -STOP $p $(netproc "$p")
	"$2/tests/commit_blobs" "$W/fw1_$1" $((24 << 10)) bench.big >/dev/null
	: > "$W/stuck.$1"
	i=0
	end=$((${EPOCHREALTIME%.*} + STUCK_S))
	while [ "${EPOCHREALTIME%.*}" -lt "$end" ]; do
		i=$((i + 1))
		t0=$EPOCHREALTIME
		on "fw1_$1" set --no-wait bench.stuck "$i" > "$W/out" ||
		    { cat "$W/out"; exit 1; }
		r=$(sed -n 's/^fw1: committed r\([0-9]*\).*/\1/p' "$W/out")
		until acked "$1" fw2 "$r"; do :; done
		ms_since "$t0" >> "$W/stuck.$1"
	done
}
echo
echo "== fw3 stopped with 24 MiB unsent: set --no-wait until fw2 acknowledged, ${STUCK_S} s each"
stuck before "$B1"
stuck after "$B2"
for t in before after; do
	echo "$t: $(stats < "$W/stuck.$t"), max $(sort -n "$W/stuck.$t" | tail -1) ms"
done
echo
echo "== resident memory with fw3 stuck, KiB"
memory fw1
