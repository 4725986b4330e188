# repl-lib.sh - sourced after lib.sh by the replication tests (e2e/t4*.sh).
#
# Nodes are separate processes on loopback ports, each with a store in
# $SCRATCH/NAME/store, files rendered under $SCRATCH/NAME/root, and a log
# in $SCRATCH/NAME.log.  Restart commands are real child processes: a
# script that appends "NODE SERVICE" to $RESTARTS.

RESTARTS="$SCRATCH/restarts"
: > "$RESTARTS"
CFGSTORE_WAIT=${CFGSTORE_WAIT:-5}
export CFGSTORE_WAIT

# node_init NAME [--primary]: a store with a free loopback port.
node_init() {
	name=$1; shift
	mkdir -p "$SCRATCH/$name"
	port=$(free_port)
	echo "$port" > "$SCRATCH/$name/port"
	"$CFGSTORE" -d "$SCRATCH/$name/store" init --node "$name" \
	    --listen "${LISTEN_HOST:-127.0.0.1}:$port" "$@" >/dev/null ||
	    fail "init $name"
}

dir() { echo "$SCRATCH/$1/store"; }
addr() { echo "${LISTEN_HOST:-127.0.0.1}:$(cat "$SCRATCH/$1/port")"; }
key() { "$CFGSTORE" -d "$(dir "$1")" key; }
on() { n=$1; shift; "$CFGSTORE" -d "$(dir "$n")" "$@"; }

# pair A B: A pushes to / trusts B and the other way round.
pair() {
	on "$1" peer add "$2" "$(addr "$2")" "$(key "$2")" >/dev/null &&
	on "$2" peer add "$1" "$(addr "$1")" "$(key "$1")" >/dev/null ||
	    fail "pair $1 $2"
}

# star PRIMARY REPLICA...: PRIMARY (the primary) and its replicas, each
# replica paired with the primary only.
star() {
	node_init "$1" --primary
	star_p=$1; shift
	for star_n in "$@"; do
		node_init "$star_n"
		pair "$star_p" "$star_n"
	done
}

# mesh NAME...: each of them paired with every other.
mesh() {
	while [ $# -gt 1 ]; do
		mesh_a=$1; shift
		for mesh_b in "$@"; do
			pair "$mesh_a" "$mesh_b"
		done
	done
}

# start NAME [PREFIX...]: the daemon in the foreground, in the background.
start() {
	name=$1; shift
	# A daemon killed with SIGKILL leaves its socket: wait for the new one.
	rm -f "$(dir "$name")/serve.sock"
	NODE=$name "$@" "$CFGSTORE" -d "$(dir "$name")" serve -f -v \
	    --root "$SCRATCH/$name/root" >> "$SCRATCH/$name.log" 2>&1 &
	echo $! > "$SCRATCH/$name/pid"
	test_pids="$test_pids $!"
	wait_for test -S "$(dir "$name")/serve.sock" || {
		cat "$SCRATCH/$name.log"; fail "$name did not start"; }
}

pid() { cat "$SCRATCH/$1/pid"; }

# stop NAME [SIGNAL]: and, in a sanitizer build, no report in its log.
stop() {
	kill -"${2:-TERM}" "$(pid "$1")" 2>/dev/null
	wait "$(pid "$1")" 2>/dev/null
	! grep -q "ERROR: [A-Za-z]*Sanitizer\|runtime error:" \
	    "$SCRATCH/$1.log" 2>/dev/null || {
		grep -A30 "Sanitizer\|runtime error:" "$SCRATCH/$1.log" |
		    head -60
		fail "$1: sanitizer report"; }
	return 0
}

# commits N: N commits on fw1 setting test.counter to 0..N-1, made in one
# process (commit_many), the daemon told of the last one only.
commits() {
	"$BUILDDIR/tests/commit_many" "$(dir fw1)" "$1" test.counter \
	    > /dev/null || fail "commit_many"
}

head_of() { on "$1" status | sed -n 's/^head: *r\([0-9]*\).*/\1/p'; }

# wait_head NAME REV [SECONDS]: until NAME holds REV.
wait_head() {
	i=0
	while [ "$(head_of "$1")" != "$2" ]; do
		i=$((i + 1))
		[ $i -lt $((${3:-20} * 10)) ] || {
			tail -20 "$SCRATCH/$1.log"
			fail "$1 is at r$(head_of "$1"), not r$2"; }
		sleep 0.1
	done
}

# last_commit TEXT NAME...: the message of each one's head has TEXT.
last_commit() {
	lc_text=$1; shift
	for lc_n in "$@"; do
		on "$lc_n" log -n 1 | grep -q "$lc_text" || return 1
	done
}

# acked PRIMARY PEER REV: the primary's status says PEER acknowledged REV.
acked() { on "$1" status | grep -q "^  $2 .*acknowledged r$3 "; }

# same NAME...: every store holds the same history and state as the first.
same() {
	store_fingerprint "$(dir "$1")" > "$SCRATCH/fp.$1" || fail "export $1"
	for n in "$@"; do
		on "$n" verify >/dev/null || fail "verify on $n"
		store_fingerprint "$(dir "$n")" > "$SCRATCH/fp.$n"
		cmp -s "$SCRATCH/fp.$1" "$SCRATCH/fp.$n" || {
			diff "$SCRATCH/fp.$1" "$SCRATCH/fp.$n" | head
			fail "$n differs from $1"; }
	done
}

# guide NODE: the guide's values on the primary NODE, with checks that
# always pass and restarts that log "NODE SERVICE" to $RESTARTS.
guide() {
	cat > "$SCRATCH/restart" <<-EOS
	#!/bin/sh
	echo "\$NODE \$1" >> "$RESTARTS"
	EOS
	chmod +x "$SCRATCH/restart"
	{
		grep -v '^#' "$SRCDIR/tests/golden/guide.apply"
		for s in carp dhcpd nsd ntpd unbound; do
			echo "set service.$s.check true"
			echo "set service.$s.restart \"$SCRATCH/restart $s\""
		done
	} > "$SCRATCH/guide.apply"
	(cd "$SRCDIR/tests/golden" &&
	    "$CFGSTORE" -d "$(dir "$1")" apply -m "the guide" \
	    "$SCRATCH/guide.apply") > "$SCRATCH/out" 2>&1
}

# two_nodes [PREFIX...]: fw1 (primary) and fw2, each trusting the other,
# both running; fw2's daemon run by PREFIX (env PATH=..., say).
two_nodes() {
	node_init fw1 --primary
	node_init fw2
	pair fw1 fw2
	start fw1
	start fw2 "$@"
}

# nodechecks [LOG]: a checker named nodecheck on both nodes, a different
# program on each: fw1's, in $SCRATCH/bin1 (put on PATH), passes
# everything; fw2's, in $SCRATCH/bin2 (for fw2's daemon), refuses
# 10.0.0.66, not an address of that host.  With LOG, each appends
# "NODE FILE" to LOG (NODE is cli for the command line).
nodechecks() {
	nc_log=:
	[ -z "${1:-}" ] || nc_log="echo \"\${NODE:-cli} \$1\" >> \"$1\""
	mkdir -p "$SCRATCH/bin1" "$SCRATCH/bin2"
	cat > "$SCRATCH/bin1/nodecheck" <<-EOS
	#!/bin/sh
	$nc_log
	exit 0
	EOS
	cat > "$SCRATCH/bin2/nodecheck" <<-EOS
	#!/bin/sh
	$nc_log
	if grep -q 10.0.0.66 "\$1"; then
		echo "\$1:1: 10.0.0.66 is not an address of this host"
		exit 1
	fi
	exit 0
	EOS
	chmod +x "$SCRATCH/bin1/nodecheck" "$SCRATCH/bin2/nodecheck"
	PATH="$SCRATCH/bin1:$PATH"
	export PATH
}

# guide_synced PRIMARY REPLICA: the guide on PRIMARY, held by REPLICA too;
# r is then their head.
guide_synced() {
	guide "$1" || { cat "$SCRATCH/out"; fail "guide"; }
	r=$(head_of "$1")
	wait_head "$2" "$r"
}

# three_synced [STARTER]: fw1 (primary), fw2 and fw3, made by the caller,
# each trusting the others, started by STARTER (start, or ns_start) and
# holding the guide; r is then their head.
three_synced() {
	mesh fw1 fw2 fw3
	for three_n in fw1 fw2 fw3; do
		"${1:-start}" "$three_n"
	done
	guide_synced fw1 fw2
	wait_head fw3 "$r"
}

# restarts: "NODE SERVICE" lines since the last call, sorted, on one line.
restarts() {
	sort "$RESTARTS" | tr '\n' ',' | sed 's/,$//'
	: > "$RESTARTS"
}

# rss PID: resident memory in KiB.
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
