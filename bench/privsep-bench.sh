#!/bin/bash
# privsep-bench.sh - what the daemon's network process costs, measured
# side by side in one run: two pairs of nodes on loopback, one run by
# each build, `set` on the primary until the replica acknowledged
# (rendered), alternating between the pairs so both see the same machine.
#
#	bench/privsep-bench.sh BEFORE_BUILDDIR AFTER_BUILDDIR [ITERATIONS]
#
# Prints median and p99 for each, and the resident memory of every
# process of each daemon (the network process's on its own).
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRCDIR/bench/lib.sh"
B1=$(cd "$1" && pwd)
B2=$(cd "$2" && pwd)
N=${3:-200}
W=$(mktemp -d "${TMPDIR:-/tmp}/cfgstore-bench.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT


# pair TAG BUILDDIR: fw1-TAG (primary) and fw2-TAG, running the guide.
pair() {
	c="$2/cli/cfgstore"
	p1=$(port); p2=$(port)
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
echo "one process (before):              $(stats < "$W/lat.before")"
echo "with a network process (after):    $(stats < "$W/lat.after")"

echo
echo "== resident memory, KiB"
for t in before after; do
	for n in fw1 fw2; do
		eval "p=\$pid_${n}_$t"
		line="$t $n: daemon $(rss "$p")"
		for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
			tr '\0' ' ' < /proc/$c/cmdline | grep -q network-process &&
			    line="$line, network process $(rss "$c")"
		done
		echo "$line"
	done
done
