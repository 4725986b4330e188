# render-lib.sh - sourced after lib.sh by the render tests (e2e/t3*.sh).
#
# The guide's values (guide.apply) in a store per node, and check and
# restart commands that work on the machine running the tests.

GOLDEN="$SRCDIR/tests/golden"
RESTARTS="$SCRATCH/restarts"	# one line per restart, the service's name

# write CMD...: a command that commits.  The stores here know a peer that
# never answers, so "durable here, not on every peer" (3) is success.
write() {
	"$@" >"$SCRATCH/write.out" 2>&1
	case $? in
	0|3) ;;
	*) cat "$SCRATCH/write.out"; fail "$*" ;;
	esac
}

# guide_store NODE OTHER: a primary store for NODE in $SCRATCH/NODE,
# knowing OTHER (so overrides may name it), holding the guide's values.
guide_store() {
	mkdir -p "$SCRATCH/$1"
	CFGSTORE_DIR="$SCRATCH/$1/store"
	export CFGSTORE_DIR
	expect 0 "$CFGSTORE" init --node "$1" --primary
	# Any well-formed key will do: this peer is never contacted.
	key=$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')
	expect 0 "$CFGSTORE" peer add "$2" 127.0.0.1:9 "$key"
	# Writes are checked: dhcpd's checker as Debian spells it (below).
	write "$CFGSTORE" set --no-wait service.dhcpd.check "dhcpd -t -cf {}"
	(cd "$GOLDEN" && write "$CFGSTORE" apply --no-wait guide.apply) ||
	    exit 1
}

# batch [--force] LINE...: one commit of apply lines.  --force commits
# what the checks of a write refuse, to reach the renderer's own.
batch() {
	force=
	[ "$1" != --force ] || { force=--force; shift; }
	printf '%s\n' "$@" > "$SCRATCH/batch"
	write "$CFGSTORE" apply --no-wait $force "$SCRATCH/batch"
}

# restart_with SERVICE CMD: SERVICE's restart command becomes CMD.
restart_with() {
	batch "set service.$1.restart \"$2\""
}

# test_commands ROOT: restarts that log to $RESTARTS (ok NAME), checkers
# that exist here, and unbound's chroot under ROOT, where the checker
# looks for it.
#
# dhcpd: OpenBSD's dhcpd checks a file with `dhcpd -n -c FILE`; the ISC
# dhcpd Debian ships reads `-n` as "do not fork" and would start serving,
# so here the check is `dhcpd -t -cf FILE`.  The shipped template only
# uses what both parse alike (option, subnet, range), so ISC's verdict on
# the syntax stands for OpenBSD's.  The other three checkers take the
# same arguments on both systems.
test_commands() {
	mkdir -p "$SCRATCH/bin"
	cat > "$SCRATCH/bin/ok" <<-EOS
	#!/bin/sh
	echo "\$1" >> "$RESTARTS"
	EOS
	cat > "$SCRATCH/bin/fails" <<-EOS
	#!/bin/sh
	echo "\$1" >> "$RESTARTS"
	echo "\$1: cannot start: address already in use"
	exit 1
	EOS
	cat > "$SCRATCH/bin/hangs" <<-EOS
	#!/bin/sh
	echo "\$1" >> "$RESTARTS"
	sleep 600
	EOS
	chmod +x "$SCRATCH/bin/ok" "$SCRATCH/bin/fails" "$SCRATCH/bin/hangs"
	: > "$RESTARTS"
	# unbound's checker goes into its directory: it must exist, as it
	# does on a real host, before a write that names it is checked.  The
	# first --root given becomes the node's render root, which the
	# checks of a write take into account.
	mkdir -p "$1/var/unbound"
	"$CFGSTORE" render --dry-run --root "$1" >/dev/null 2>&1
	batch "set service.dhcpd.check \"dhcpd -t -cf {}\"" \
	    "set unbound.chroot \"$1/var/unbound\"" \
	    "set unbound.directory \"$1/var/unbound\"" \
	    "set service.ntpd.restart \"$SCRATCH/bin/ok ntpd\"" \
	    "set service.nsd.restart \"$SCRATCH/bin/ok nsd\"" \
	    "set service.unbound.restart \"$SCRATCH/bin/ok unbound\"" \
	    "set service.dhcpd.restart \"$SCRATCH/bin/ok dhcpd\"" \
	    "set service.carp.restart \"$SCRATCH/bin/ok carp\""
}

# rendered_guide ROOT: fw1's guide store (knowing fw2), the test commands,
# and every service rendered once under ROOT, its restarts forgotten.
rendered_guide() {
	guide_store fw1 fw2
	test_commands "$1"
	expect 0 "$CFGSTORE" render --root "$1"
	restarts >/dev/null
}

# restarts: the services restarted since the last call, sorted, on one line.
restarts() {
	sort "$RESTARTS" | tr '\n' ' ' | sed 's/ $//'
	: > "$RESTARTS"
}

# snapshot DIR: one line per file under DIR: path, mtime (ns), mode,
# owner and hash.
snapshot() {
	(cd "$1" && find . -type f | sort | while read -r f; do
		printf '%s %s %s\n' "$f" "$(stat -c '%y %a %u:%g' "$f")" \
		    "$(sha256sum < "$f" | cut -c1-64)"
	done)
}
