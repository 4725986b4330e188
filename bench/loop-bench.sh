#!/bin/bash
# loop-bench.sh - why the daemon's parent keeps a render worker: what a
# render costs, and whether the loop answers while one runs.  On demand:
#
#	bench/loop-bench.sh [BUILDDIR] [ITERATIONS]
#
# fw1 (primary) and fw2 on loopback, with the guide; fw2's ntpd restart
# takes RESTART_S seconds (default 1, about what `rcctl restart ntpd`
# takes).  Prints:
#  1. `set` on fw1 until fw2 acknowledged: the render on fw2, restart and
#     all: the time the render worker is busy;
#  2. `status` on fw2 (the daemon's control socket, served by its loop)
#     timed while fw2 renders: what a control client, a ping, an ack or
#     a handshake signature would wait if the render ran in the loop
#     (about the restart's time), against what they wait with it on the
#     worker;
#  3. the same `status` with nothing rendering.
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRCDIR/bench/lib.sh"
bench_args 20 "$@"
need "$CFGSTORE"
RESTART_S=${RESTART_S:-1}
scratch
guide_file
nodes fw1 fw2
guide fw1
on fw1 set "service.ntpd.restart@fw2" "sleep $RESTART_S" >/dev/null

# status_ms NODE: one `status` of NODE's daemon, in ms.
status_ms() { timed on "$1" status; }

echo "== idle: status on fw2, $N times"
: > "$W/idle"
for i in $(seq 1 "$N"); do
	status_ms fw2 >> "$W/idle"
done

echo "== set on fw1 until fw2 acknowledged, its ntpd restart ${RESTART_S} s," \
    "$N times; status on fw2 meanwhile"
: > "$W/set"; : > "$W/busy"
for i in $(seq 1 "$N"); do
	timed on fw1 set ntpd.listen@fw2 "10.1.$((i / 250)).$((i % 250 + 1))" \
	    > "$W/set.ms" &
	s=$!
	# Into the render: fw2 applied the commit and restarts.
	sleep 0.3
	while kill -0 "$s" 2>/dev/null; do
		status_ms fw2 >> "$W/busy"
		sleep 0.1
	done
	wait "$s" || exit 1
	cat "$W/set.ms" >> "$W/set"
done
echo "set, fw2 rendered and acked:     $(stats < "$W/set")"
echo "status on fw2 while it renders:  $(stats < "$W/busy")"
echo "status on fw2, idle:             $(stats < "$W/idle")"
echo "threads: fw1 $(ls /proc/$pid_fw1/task | wc -l)," \
    "fw2 $(ls /proc/$pid_fw2/task | wc -l)"
