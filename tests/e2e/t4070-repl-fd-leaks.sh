#!/bin/sh
# The services a daemon restarts inherit none of its descriptors: not the
# wake-up pipe, not the listening or accepted sockets, not the peers',
# not the store's files.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

[ -d /proc/self/fd ] || { echo "SKIP: no /proc/self/fd"; exit 77; }

step "fw1 and fw2; each restart lists the descriptors it was given"
# The daemons start with nothing open but 0-2, so whatever a restart
# holds beyond those came from the daemon.
cat > "$SCRATCH/closefds.py" <<-EOS
import os, sys
os.closerange(3, 65536)
os.execvp(sys.argv[1], sys.argv[1:])
EOS
node_init fw1 --primary
node_init fw2
pair fw1 fw2
start fw1 python3 "$SCRATCH/closefds.py"
start fw2 python3 "$SCRATCH/closefds.py"
guide_synced fw1 fw2
cat > "$SCRATCH/fdlist" <<-EOS
#!/bin/sh
# What the restart was given: ls, in its place, lists its own.
exec ls -l /proc/self/fd > "$SCRATCH/fds.\$NODE"
EOS
chmod +x "$SCRATCH/fdlist"
expect 0 on fw1 set service.ntpd.restart "$SCRATCH/fdlist"
expect 0 on fw1 set ntpd.constraints 9.9.9.9
assert_grep "^fw2: applied r$((r + 2)), restarted ntpd" "$SCRATCH/out"

step "no socket, pipe or store file of the daemons reached the restarts"
# 0-2 are /dev/null, the file written and the renderer's pipe; ls has
# /proc/self/fd open.
for n in fw1 fw2; do
	[ -s "$SCRATCH/fds.$n" ] || fail "no restart on $n"
	sed -n 's/^.* \([0-9]*\) -> /\1 /p' "$SCRATCH/fds.$n" |
	    sed '/^[012] /d' > "$SCRATCH/fds"
	echo "$n: $(tr '\n' ' ' < "$SCRATCH/fds")"
	assert_grep "^[0-9]+ /proc/[0-9]+/fd$" "$SCRATCH/fds"
	assert_no_grep "socket:|pipe:|anon_inode:|\.mdb|write\.lock" "$SCRATCH/fds"
	assert_eq "$(wc -l < "$SCRATCH/fds" | tr -d ' ')" 1 "descriptors beyond 0-2"
done
ok "t4070"
