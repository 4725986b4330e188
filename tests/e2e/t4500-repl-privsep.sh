#!/bin/sh
# The daemon's network process: another user, chrooted, holding nothing
# of the store, the key or the rendered files; killed, it is started
# again and replication goes on; its parent killed, it exits.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: the daemon must run as root"; exit 77; }
[ -d /proc/self/fd ] || { echo "SKIP: no /proc"; exit 77; }

# netproc NAME: the pid of NAME's network process.
netproc() {
	for c in $(ls /proc | grep '^[0-9]*$'); do
		[ "$(awk '/^PPid:/ { print $2 }' /proc/$c/status 2>/dev/null)" = \
		    "$(pid "$1")" ] || continue
		tr '\0' ' ' < /proc/$c/cmdline 2>/dev/null |
		    grep -q -- "--network-process" && { echo "$c"; return 0; }
	done
	return 1
}

# resumes: a commit, which may find the session being set up again, is
# caught up; the next one is applied at once.
resumes() {
	on fw1 set ntpd.listen@fw2 "10.0.0.$((r % 200 + 2))" > "$SCRATCH/out"
	r=$((r + 1))
	wait_head fw2 "$r"
	expect 0 on fw1 set ntpd.listen@fw2 "10.0.0.$((r % 200 + 2))"
	r=$((r + 1))
	assert_grep "^fw2: applied r$r, restarted ntpd" "$SCRATCH/out"
}

step "a network process that cannot become its user: serve fails, says why"
node_init fw1 --primary
node_init fw2
pair fw1 fw2
expect 1 on fw1 serve -f --user nosuchuser --root "$SCRATCH/fw1/root"
assert_err_line "^cfgstore: network process: no user nosuchuser$"
[ -S "$(dir fw1)/serve.sock" ] && fail "a socket left"

step "fw1 and fw2 in step"
start fw1
start fw2
guide_synced fw1 fw2

for n in fw1 fw2; do
	step "$n's network process: nobody, in /var/empty, holding nothing of $n"
	c=$(netproc $n) || fail "$n: no network process"
	uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' /proc/$c/status)
	gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' /proc/$c/status)
	nobody=$(id -u nobody)
	assert_eq "$uids" "$nobody $nobody $nobody $nobody" "$n: uids"
	case "$gids" in *" 0"*|"0 "*) fail "$n: a gid is 0: $gids";; esac
	assert_eq "$(awk '/^Groups:/ { print $2 }' /proc/$c/status)" \
	    "$(id -g nobody)" "$n: groups"
	assert_eq "$(awk '/^CapEff:/ { print $2 }' /proc/$c/status)" \
	    "0000000000000000" "$n: capabilities"
	assert_eq "$(readlink /proc/$c/root)" "/var/empty" "$n: root"
	ls -l /proc/$c/fd | sed -n 's/^.* -> //p' > "$SCRATCH/fds"
	cat "$SCRATCH/fds" | tr '\n' ' '; echo
	# Only the log (its stderr here), /dev/null, sockets and pipes.
	grep -v '^/dev/null$\|^socket:\|^pipe:\|^anon_inode:' "$SCRATCH/fds" |
	    grep -vx "$SCRATCH/$n.log" > "$SCRATCH/files" &&
	    { cat "$SCRATCH/files"; fail "$n: it holds files"; }
	# Nor a map of the store, as a fork would have kept.
	grep "$SCRATCH/$n/" /proc/$c/maps && fail "$n: it maps the store"
	# And the parent holds the store (the test would prove nothing else).
	ls -l /proc/$(pid $n)/fd | grep -q "$SCRATCH/$n/store/data.mdb" ||
	    fail "$n: the parent does not hold the store"

	step "$n: the parent is one loop and two workers, the network process one loop"
	# Idle (in step, nothing rendering): no thread but those.
	assert_eq "$(ls /proc/$(pid $n)/task | wc -l)" 3 "$n: parent's threads"
	assert_eq "$(ls /proc/$c/task | wc -l)" 1 "$n: network process's threads"
done

step "fw1 and fw2 after 20 commits and two control clients at a time: the same threads"
for i in $(seq 1 10); do
	on fw1 set ntpd.listen@fw2 "10.9.0.$i" > "$SCRATCH/a.out" 2>&1 &
	a=$!
	on fw1 set ntpd.listen@fw1 "10.8.0.$i" > "$SCRATCH/b.out" 2>&1 &
	# Not a bare wait: the daemons are jobs of this shell too.
	wait $a $!
	grep -q "^fw2: applied" "$SCRATCH/a.out" ||
	    { cat "$SCRATCH/a.out"; fail "set $i: fw2 did not apply"; }
done
guide_synced fw1 fw2
for n in fw1 fw2; do
	assert_eq "$(ls /proc/$(pid $n)/task | wc -l)" 3 "$n: parent's threads"
done

step "fw2's network process killed: another one, and fw2 applies"
old=$(netproc fw2)
kill -KILL "$old"
wait_for sh -c "grep -q 'network process $old exited\|network process $old killed' \
    '$SCRATCH/fw2.log'" || fail "no word of it in the log"
wait_for grep -q "network process [0-9]* started again" "$SCRATCH/fw2.log" ||
    fail "not started again"
new=$(netproc fw2) || fail "no new network process"
[ "$new" != "$old" ] || fail "the same process"
resumes

step "fw1's network process killed: another one, and fw1 pushes again"
old=$(netproc fw1)
kill -KILL "$old"
wait_for grep -q "network process [0-9]* started again" "$SCRATCH/fw1.log" ||
    fail "not started again"
resumes
same fw1 fw2

step "fw2's parent killed: its network process exits"
c=$(netproc fw2)
kill -KILL "$(pid fw2)"
wait "$(pid fw2)" 2>/dev/null
wait_for sh -c "! kill -0 $c 2>/dev/null" || fail "it lives on"

stop fw1
ok "t4500"
