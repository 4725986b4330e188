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
W=$(mktemp -d "${TMPDIR:-/tmp}/cfgstore-bench.XXXXXX")
pids=""
stopped=""
cleanup() {
	for p in $stopped; do kill -CONT "$p" 2>/dev/null; done
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT


# pair TAG BUILDDIR: fw1-TAG (primary) and fw2-TAG, running the guide.
pair() {
	c="$2/cli/cfgstore"
	p1=$(port); p2=$(port)
	echo "$p1" > "$W/port-fw1-$1"
	"$c" -d "$W/fw1-$1" init --node fw1 --primary --listen "127.0.0.1:$p1" >/dev/null
	"$c" -d "$W/fw2-$1" init --node fw2 --listen "127.0.0.1:$p2" >/dev/null
	"$c" -d "$W/fw1-$1" peer add fw2 "127.0.0.1:$p2" "$("$c" -d "$W/fw2-$1" key)"
	"$c" -d "$W/fw2-$1" peer add fw1 "127.0.0.1:$p1" "$("$c" -d "$W/fw1-$1" key)"
	for n in fw1 fw2; do
		"$c" -d "$W/$n-$1" serve -f --root "$W/root-$n-$1" \
		    >> "$W/$n-$1.log" 2>&1 &
		pids="$pids $!"
		eval "pid_${n}_$1=$!"
		while [ ! -S "$W/$n-$1/serve.sock" ]; do sleep 0.02; done
	done
	(cd "$SRCDIR/tests/golden" && "$c" -d "$W/fw1-$1" apply "$W/guide.apply") >/dev/null
}
{
	grep -v '^#' "$SRCDIR/tests/golden/guide.apply"
	for s in carp dhcpd nsd ntpd unbound; do
		echo "set service.$s.check true"
		echo "set service.$s.restart true"
	done
} > "$W/guide.apply"
pair before "$B1"
pair after "$B2"

echo "== set on fw1 until fw2 acknowledged (rendered), $N times each, alternating"
: > "$W/lat.before"; : > "$W/lat.after"
for i in $(seq 1 "$N"); do
	for t in before after; do
		[ $t = before ] && c="$B1/cli/cfgstore" || c="$B2/cli/cfgstore"
		t0=$EPOCHREALTIME
		"$c" -d "$W/fw1-$t" set ntpd.listen@fw2 \
		    "10.0.$((i / 250)).$((i % 250 + 1))" > "$W/out" ||
		    { cat "$W/out"; exit 1; }
		t1=$EPOCHREALTIME
		grep -q "^fw2: applied" "$W/out" || { cat "$W/out"; exit 1; }
		awk "BEGIN { print ($t1 - $t0) * 1000 }" >> "$W/lat.$t"
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

# acked TAG REV: fw1-TAG's status says fw2 acknowledged REV.
acked() {
	"$c" -d "$W/fw1-$1" status | grep -q "^  fw2 .*acknowledged r$2 "
}

# stuck TAG BUILDDIR: fw3 joins, stops reading, is sent 24 MiB; then
# fw2's acknowledgements are timed for STUCK_S seconds.
stuck() {
	c="$2/cli/cfgstore"
	p3=$(port)
	"$c" -d "$W/fw3-$1" init --node fw3 --listen "127.0.0.1:$p3" >/dev/null
	"$c" -d "$W/fw3-$1" peer add fw1 "127.0.0.1:$(cat "$W/port-fw1-$1")" \
	    "$("$c" -d "$W/fw1-$1" key)"
	"$c" -d "$W/fw3-$1" serve -f --root "$W/root-fw3-$1" \
	    >> "$W/fw3-$1.log" 2>&1 &
	pids="$pids $!"
	eval "pid_fw3_$1=$!"
	while [ ! -S "$W/fw3-$1/serve.sock" ]; do sleep 0.02; done
	"$c" -d "$W/fw1-$1" peer add fw3 "127.0.0.1:$p3" \
	    "$("$c" -d "$W/fw3-$1" key)"
	h=$("$c" -d "$W/fw1-$1" status | sed -n 's/^head: *r\([0-9]*\).*/\1/p')
	until "$c" -d "$W/fw1-$1" status |
	    grep -q "^  fw3 .*acknowledged r$h "; do sleep 0.1; done
	eval "p=\$pid_fw3_$1"
	stopped="$stopped $p $(netproc "$p")"
	kill -STOP $p $(netproc "$p")
	"$2/tests/commit_blobs" "$W/fw1-$1" $((24 << 10)) bench.big >/dev/null
	: > "$W/stuck.$1"
	i=0
	end=$((${EPOCHREALTIME%.*} + STUCK_S))
	while [ "${EPOCHREALTIME%.*}" -lt "$end" ]; do
		i=$((i + 1))
		t0=$EPOCHREALTIME
		"$c" -d "$W/fw1-$1" set --no-wait bench.stuck "$i" > "$W/out" ||
		    { cat "$W/out"; exit 1; }
		r=$(sed -n 's/^fw1: committed r\([0-9]*\).*/\1/p' "$W/out")
		until acked "$1" "$r"; do :; done
		t1=$EPOCHREALTIME
		awk "BEGIN { print ($t1 - $t0) * 1000 }" >> "$W/stuck.$1"
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
