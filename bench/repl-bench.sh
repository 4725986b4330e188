#!/bin/bash
# repl-bench.sh - replication figures on loopback, run on demand:
#
#	bench/repl-bench.sh [BUILDDIR] [ITERATIONS]
#
#  1. latency of `cfgstore set` on fw1 until fw2's acknowledgement, with
#     rendering on both nodes but restarts that do nothing (`true`):
#     median and p99, end to end (the command's wall time) and inside the
#     daemon (notice to last acknowledgement, and push to acknowledgement);
#  2. catch-up of 10,000 commits by a replica that was down;
#  3. resident memory of both daemons;
#  4. for comparison, rsync over ssh of one changed file on loopback.
#
# Needs bash (EPOCHREALTIME), python3; sshd and rsync for part 4.
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRCDIR/bench/lib.sh"
bench_args 200 "$@"
COMMIT_MANY="$BUILDDIR/tests/commit_many"
need "$CFGSTORE" "$COMMIT_MANY"
scratch
# The daemon's timings are read from its log.
SERVE_FLAGS="-f -v"

echo "== setup: fw1 (primary) and fw2 on loopback, in $W"
nodes fw1 fw2
guide_file
guide fw1

echo
echo "== 1. set on fw1 until fw2 acknowledged (rendered), $N times each"
t0=$EPOCHREALTIME; /bin/true; t1=$EPOCHREALTIME
echo "process start-up on this machine: /bin/true takes" \
    "$(awk "BEGIN { printf \"%.2f\", ($t1 - $t0) * 1000 }") ms"
: > "$W/lat.a"; : > "$W/lat.b"
for i in $(seq 1 "$N"); do
	# a: every template rendered, no file changes (nothing to restart)
	timed on fw1 set bench.value "v$i" >> "$W/lat.a"
	# b: fw2's ntpd.conf changes: installed, checked, restarted (true)
	timed on fw1 set ntpd.listen@fw2 "10.0.$((i / 250)).$((i % 250 + 1))" \
	    >> "$W/lat.b"
done
grep -q "^fw2: applied" "$W/out" || { cat "$W/out"; exit 1; }
echo "end to end, no file changed:        $(stats < "$W/lat.a")"
echo "end to end, ntpd.conf installed:    $(stats < "$W/lat.b")"
# The daemon logs alternate: a, b, a, b...
sed -n 's/.*reported on every node \([0-9.]*\) ms.*/\1/p' "$W/fw1.log" |
    tail -n "$((2 * N))" > "$W/lat.d"
sed -n 's/.*fw2: r[0-9]*\.\.r[0-9]* acknowledged \([0-9.]*\) ms.*/\1/p' \
    "$W/fw1.log" | tail -n "$((2 * N))" > "$W/lat.p"
for k in a b; do
	[ $k = a ] && odd=1 || odd=0
	echo "in the daemon ($k), notice to last ack: $(awk "NR % 2 == $odd" \
	    "$W/lat.d" | stats)"
	echo "in the daemon ($k), push to fw2's ack:  $(awk "NR % 2 == $odd" \
	    "$W/lat.p" | stats)"
done

echo
echo "== 2. catch-up of 10,000 commits"
stop fw2
from=$(head_of fw1)
t0=$EPOCHREALTIME
"$COMMIT_MANY" "$W/fw1" 10000 > /dev/null || exit 1
t1=$EPOCHREALTIME
to=$(head_of fw1)
echo "made r$((from + 1))..r$to on fw1 in" \
    "$(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s"
: > "$W/fw2.log"
start fw2
on fw1 set --no-wait bench.kick 1 > /dev/null	# no back-off wait
to=$((to + 1))
while [ "$(head_of fw2)" != "$to" ]; do sleep 0.05; done
sleep 0.3
start_ms=$(sed -n "s/^\([0-9:.]*\) cfgstore: fw1: connected, we are at r$from .*/\1/p" "$W/fw2.log" | head -1)
end_ms=$(sed -n "s/^\([0-9:.]*\) cfgstore: fw1: applied r$to, .*/\1/p" "$W/fw2.log" | head -1)
ms() { echo "$1" | awk -F: '{ printf "%d", ($1 * 3600 + $2 * 60 + $3) * 1000 }'; }
echo "fw2 caught up r$((from + 1))..r$to ($((to - from)) commits) in" \
    "$(( $(ms "$end_ms") - $(ms "$start_ms") )) ms" \
    "(from its hello to its last ack, rendering included)"
grep "fw2: r.*acknowledged" "$W/fw1.log" | tail -n 6 | sed 's/^/  /'

echo
echo "== 3. resident memory"
for n in fw1 fw2; do
	eval "p=\$pid_$n"
	echo "$n daemon: RSS $(( $(rss "$p") / 1024 )) MiB now," \
	    "peak $(( $(hwm "$p") / 1024 )) MiB ($(rss "$p") / $(hwm "$p") KiB)"
done

echo
echo "== 4. for comparison: rsync over ssh of one changed file, loopback"
sshd=$(command -v sshd || echo /usr/sbin/sshd)
if [ ! -x "$sshd" ] || ! command -v rsync >/dev/null; then
	echo "SKIP: sshd or rsync not installed"
	exit 0
fi
mkdir -p "$W/ssh" "$W/dst" /run/sshd 2>/dev/null
ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/host" &&
    ssh-keygen -q -t ed25519 -N '' -f "$W/ssh/user" || exit 1
cp "$W/ssh/user.pub" "$W/ssh/authorized_keys"
chmod 600 "$W/ssh/authorized_keys"
sp=$(port)
"$sshd" -D -e -p "$sp" -h "$W/ssh/host" -o ListenAddress=127.0.0.1 \
    -o AuthorizedKeysFile="$W/ssh/authorized_keys" -o PidFile=none \
    -o UsePAM=no -o PermitRootLogin=prohibit-password \
    -o StrictModes=no > "$W/sshd.log" 2>&1 &
pids="$pids $!"
SSH="ssh -p $sp -i $W/ssh/user -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes"
for i in $(seq 1 50); do
	$SSH "$(id -un)@127.0.0.1" true 2>/dev/null && break
	sleep 0.1
done
if ! $SSH "$(id -un)@127.0.0.1" true 2>/dev/null; then
	echo "SKIP: could not start a throwaway sshd:"; tail -3 "$W/sshd.log"
	exit 0
fi
cp "$W/root-fw1/etc/ntpd.conf" "$W/ntpd.conf"
: > "$W/lat.r"
n=$(( N < 50 ? N : 50 ))
for i in $(seq 1 "$n"); do
	echo "# change $i" >> "$W/ntpd.conf"
	timed rsync -a -e "$SSH" "$W/ntpd.conf" "$(id -un)@127.0.0.1:$W/dst/" \
	    >> "$W/lat.r"
done
echo "rsync -e ssh, one changed file:     $(stats < "$W/lat.r")"
echo "(rsync alone: no signature, no history, no render, no restart)"
