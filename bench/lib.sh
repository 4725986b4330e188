# lib.sh - what the shell benchmarks share; sourced, never run, by bash
# scripts that set SRCDIR first.
#
# Nodes are stores in the scratch directory $W: $W/NAME, files rendered
# under $W/root-NAME, the daemon's log in $W/NAME.log and its pid in
# $pid_NAME.  A NAME may carry a tag (fw1_before): the node is fw1.

# bench_args ITERATIONS [BUILDDIR [N]]: BUILDDIR (default build/), N
# (default ITERATIONS) and CFGSTORE, from the command line.
bench_args() {
	BUILDDIR=$(cd "${2:-$SRCDIR/build}" && pwd)
	N=${3:-$1}
	CFGSTORE="$BUILDDIR/cli/cfgstore"
}

# need FILE...: each one there to run, or exit 2 saying to build first.
need() {
	local f all=""
	for f; do all="${all:+$all, }$f"; done
	for f; do
		[ -x "$f" ] || { echo "build first: $all" >&2; exit 2; }
	done
}

# need_ntpd: OpenNTPD's ntpd, the real checker, on PATH, or exit 2.
need_ntpd() {
	PATH="$PATH:/usr/sbin:/sbin"
	command -v ntpd >/dev/null ||
	    { echo "no ntpd (openntpd) here" >&2; exit 2; }
}

# scratch: the scratch directory W, removed at exit, every daemon in
# $pids killed first (those in $stopped continued, to die).
scratch() {
	W=$(mktemp -d "${TMPDIR:-/tmp}/cfgstore-bench.XXXXXX")
	pids=""
	stopped=""
	trap cleanup EXIT
}
cleanup() {
	local p
	for p in $stopped; do kill -CONT "$p" 2>/dev/null; done
	for p in $pids; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$W"
}

# port: a free TCP port on loopback.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

on() { local node=$1; shift; "$CFGSTORE" -d "$W/$node" "$@"; }
head_of() { on "$1" status | sed -n 's/^head: *r\([0-9]*\).*/\1/p'; }

# node_init NAME [INIT_ARG...]: a store listening on a free loopback port.
node_init() {
	local name=$1 p
	shift
	p=$(port)
	echo "$p" > "$W/port-$name"
	on "$name" init --node "${name%%_*}" --listen "127.0.0.1:$p" "$@" \
	    >/dev/null
}

# trust A B: A knows B, its address and its key.
trust() {
	on "$1" peer add "${2%%_*}" "127.0.0.1:$(cat "$W/port-$2")" \
	    "$(on "$2" key)" >/dev/null
}

# mesh NAME...: each one trusting every other.
mesh() {
	local a b
	for a; do
		for b; do
			[ "$a" = "$b" ] || trust "$a" "$b"
		done
	done
}

# start NAME: its daemon (serve $SERVE_FLAGS, default -f) in the
# background, once its socket is there.
start() {
	"$CFGSTORE" -d "$W/$1" serve ${SERVE_FLAGS:--f} --root "$W/root-$1" \
	    >> "$W/$1.log" 2>&1 &
	eval "pid_$1=$!"
	pids="$pids $!"
	while [ ! -S "$W/$1/serve.sock" ]; do sleep 0.02; done
}

# stop NAME [SIGNAL]
stop() { eval "kill -${2:-TERM} \$pid_$1; wait \$pid_$1 2>/dev/null"; }

# nodes PRIMARY NAME...: PRIMARY (the primary) and the others, each
# trusting every other, all running.
nodes() {
	local n
	node_init "$1" --primary
	for n in "${@:2}"; do
		node_init "$n"
	done
	mesh "$@"
	for n; do
		start "$n"
	done
}

# guide_file [NTPD_CHECK]: the guide's values in $W/guide.apply, with
# checks that pass (ntpd's NTPD_CHECK, if given) and restarts that do
# nothing, for every service.
guide_file() {
	local s
	{
		grep -v '^#' "$SRCDIR/tests/golden/guide.apply"
		for s in carp dhcpd nsd ntpd unbound; do
			if [ $s = ntpd ] && [ -n "${1:-}" ]; then
				echo "set service.$s.check \"$1\""
			else
				echo "set service.$s.check true"
			fi
			echo "set service.$s.restart true"
		done
	} > "$W/guide.apply"
}

# guide NAME [APPLY_ARG...]: $W/guide.apply applied on NAME.
guide() {
	(cd "$SRCDIR/tests/golden" && on "$1" apply "${@:2}" \
	    "$W/guide.apply") >/dev/null
}

# ms_since T0 [DECIMALS]: milliseconds since $EPOCHREALTIME was T0, as
# awk prints a number or with DECIMALS decimals.
ms_since() {
	awk -v a="$1" -v b="$EPOCHREALTIME" -v d="${2:-}" 'BEGIN {
	    ms = (b - a) * 1000
	    if (d == "") print ms; else printf "%." d "f\n", ms }'
}

# timed CMD...: the wall time of CMD in ms, on stdout; its output in
# $W/out.  Exits unless CMD exits 0, or a status in $TIMED_OK.
timed() {
	local t0=$EPOCHREALTIME rc=0
	"$@" > "$W/out" 2>&1 || rc=$?
	case " ${TIMED_OK:-0} " in
	*" $rc "*) ;;
	*)	echo "failed ($rc): $*" >&2; cat "$W/out" >&2; exit 1 ;;
	esac
	ms_since "$t0"
}

# stats: median and p99 of the numbers on stdin (ms), on one line
# without its newline.
stats() {
	sort -n | awk '{ v[NR] = $1 } END {
	    m = v[int((NR + 1) / 2)]; p = v[int(NR * 0.99 + 0.999)];
	    printf "median %.2f ms, p99 %.2f ms (n=%d)", m, p, NR }'
}
# rss PID, hwm PID: resident memory now and at its peak, in KiB.
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
