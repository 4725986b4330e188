#!/bin/sh
# demo.sh - two firewalls on one machine, as in the README: fw1 and fw2
# daemons on loopback ports in a temporary directory.  A commit on fw1
# shows up rendered on fw2 with fw2's own overrides, then a rollback does
# the same.  Prints each step; cleans up after itself; can be run again.
#
#	tests/demo.sh [BUILDDIR]		(default: ./build)
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=$(cd "${1:-$SRCDIR/build}" 2>/dev/null && pwd) ||
    { echo "demo: no build folder ${1:-$SRCDIR/build}" >&2; exit 2; }
CFGSTORE="$BUILDDIR/cli/cfgstore"
[ -x "$CFGSTORE" ] || { echo "demo: build first ($CFGSTORE)" >&2; exit 2; }
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/cfgstore-demo.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	rm -rf "$DEMO"
	echo "(cleaned up $DEMO)"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

say() { printf '\n== %s\n' "$*"; }
# run NODE ARGS...: shows and runs "fwN# cfgstore ARGS".
run() {
	n=$1; shift
	printf '%s# cfgstore' "$n"
	for a in "$@"; do
		# As a shell reads it back: ' inside "...", the rest in '...'.
		case $a in
		*\'*) printf ' "%s"' "$(printf '%s' "$a" |
		    sed 's/[\\"$`]/\\&/g')" ;;
		*[\ \"]*|'') printf " '%s'" "$a" ;;
		*) printf ' %s' "$a" ;;
		esac
	done
	echo
	"$CFGSTORE" -d "$DEMO/$n" "$@"
	rc=$?
	[ $rc -eq 0 ] || echo "(exit status $rc)"
	return 0
}
# checker NAME CMD: CMD where the service's checker is installed, else a
# check that passes (and says so).
checker() {
	if PATH="$PATH:/usr/sbin:/sbin" command -v "$1" >/dev/null 2>&1; then
		echo "$2"
	else
		echo "(no $1 on this machine: its files go unchecked)" >&2
		echo true
	fi
}
port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
	    echo $((20000 + $$ % 20000 + $1))
}
show() { echo "--- $1 on $2:"; grep -v '^#' "$DEMO/root-$2$1" | grep . | sed 's/^/    /'; }

P1=$(port 1)
P2=$(port 2)
say "Two nodes: fw1 (primary) listens on 127.0.0.1:$P1, fw2 on 127.0.0.1:$P2"
run fw1 init --node fw1 --primary --listen "127.0.0.1:$P1"
run fw2 init --node fw2 --listen "127.0.0.1:$P2"

say "Each trusts the other's key (peers are never replicated)"
run fw1 peer add fw2 "127.0.0.1:$P2" "$("$CFGSTORE" -d "$DEMO/fw2" key)"
run fw2 peer add fw1 "127.0.0.1:$P1" "$("$CFGSTORE" -d "$DEMO/fw1" key)"

say "The daemons, rendering under $DEMO/root-fw1 and root-fw2"
for n in fw1 fw2; do
	"$CFGSTORE" -d "$DEMO/$n" serve -f --root "$DEMO/root-$n" \
	    2> "$DEMO/$n.log" &
	pids="$pids $!"
	i=0
	while [ ! -S "$DEMO/$n/serve.sock" ] && [ $i -lt 100 ]; do
		sleep 0.05; i=$((i + 1))
	done
	echo "$n# cfgstore serve --root $DEMO/root-$n   (pid $!, log in $n.log)"
done

say "The guide's settings, in one commit, checked by the services' own checkers"
# The checkers are the real ones; restarts only echo, and unbound's
# chroot is each node's root, where its checker looks for it.  ISC's
# dhcpd (Linux) checks with -t -cf where OpenBSD's takes -n -c.
{
	grep -v '^#' "$SRCDIR/tests/golden/guide.apply"
	echo "set service.ntpd.check \"$(checker ntpd 'ntpd -n -f {}')\""
	echo "set service.nsd.check \"$(checker nsd-checkconf 'nsd-checkconf {}')\""
	echo "set service.unbound.check \"$(checker unbound-checkconf 'unbound-checkconf {}')\""
	echo "set service.dhcpd.check \"$(checker dhcpd 'dhcpd -t -cf {}')\""
	for n in fw1 fw2; do
		echo "set unbound.chroot@$n \"$DEMO/root-$n/var/unbound\""
		echo "set unbound.directory@$n \"$DEMO/root-$n/var/unbound\""
	done
	for s in carp dhcpd nsd ntpd unbound; do
		echo "set service.$s.restart \"echo restart $s\""
	done
} > "$DEMO/guide.apply"
PATH="$PATH:/usr/sbin:/sbin"
export PATH
# Every write is checked first, fw2's files too: by fw1's checkers, then
# by fw2 itself, whose verdict decides for its files.  On this one
# machine fw2's unbound lives under root-fw2, where fw1's checker looks
# for it in vain: should fw2 not be connected yet, that refusal would
# stand, so this first write forces; on two real hosts both have
# /var/unbound and no --force is needed.
echo "fw1# cfgstore apply --force -m 'the guide' guide.apply"
(cd "$SRCDIR/tests/golden" &&
    "$CFGSTORE" -d "$DEMO/fw1" apply --force -m "the guide" "$DEMO/guide.apply")
show /etc/ntpd.conf fw1
show /etc/ntpd.conf fw2

say "A commit on fw1: fw2 gets it at once, with its own override"
run fw1 set -m "ntpd listens on .20, fw2 on .30" ntpd.listen 10.0.0.20
run fw1 set ntpd.listen@fw2 10.0.0.30
show /etc/ntpd.conf fw1
show /etc/ntpd.conf fw2

say "Rollback on fw1: a new commit, replicated and rendered the same way"
run fw1 rollback -y -m "undo fw2's .30"
show /etc/ntpd.conf fw2
run fw2 log -n 3

say "A range dhcpd's checker refuses: refused on fw1 for both hosts, nothing written anywhere"
run fw1 set -m "a typo" dhcpd.subnet.lan.range "10.0.1.10 10.0.1.20"
run fw1 log -n 1

say "Both nodes hold the same history"
run fw1 status
run fw2 status

say "A write on the replica is refused and names the primary"
run fw2 set ntpd.listen 10.9.9.9

say "fw2 goes down: the commit on fw1 is not blocked (exit status 3)"
kill "${pids##* }"
wait "${pids##* }" 2>/dev/null
pids="${pids% *}"
run fw1 set ntpd.listen@fw2 10.0.0.31
say "fw2 comes back and catches up by itself"
"$CFGSTORE" -d "$DEMO/fw2" serve -f --root "$DEMO/root-fw2" 2>> "$DEMO/fw2.log" &
pids="$pids $!"
i=0
until grep -q "10.0.0.31" "$DEMO/root-fw2/etc/ntpd.conf" 2>/dev/null ||
    [ $i -ge 200 ]; do
	sleep 0.05; i=$((i + 1))
done
show /etc/ntpd.conf fw2
run fw2 status
