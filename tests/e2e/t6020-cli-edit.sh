#!/bin/sh
# edit opens $EDITOR on the keys under a prefix, shows the changes key by
# key, asks, and makes one commit; an unchanged or emptied file commits
# nothing; a file that does not parse is reopened with its error, not
# lost; the file is 0600 in a 0700 directory and removed whatever
# happens.  apply --replace makes the keys under a prefix the batch's.
# The questions are also answered on a real terminal (a pty).
. "$(dirname "$0")/lib.sh"

expect 0 "$CFGSTORE" init --node fw1 --primary
w() { expect 0 "$CFGSTORE" "$@"; }
w set --no-wait ntpd.listen 10.0.0.2
w set --no-wait ntpd.servers 0.pool.ntp.org 1.pool.ntp.org
w set --no-wait unbound.interface 10.0.0.53
w set --no-wait ntpd.extra0 old
head_rev() { "$CFGSTORE" log -n 1 | sed -n 's/^r\([0-9]*\) .*/\1/p'; }
export TMPDIR="$SCRATCH/tmp"
mkdir -p "$TMPDIR"
no_leftovers() {
	[ -z "$(ls -A "$TMPDIR")" ] || { ls -lR "$TMPDIR"; fail "edit left files behind"; }
}

# An editor that notes where and how its file is, then runs $1 on it.
cat > "$SCRATCH/ed" <<'EOS'
#!/bin/sh
f=$1
echo "$f" > "$SCRATCH/ed.path"
stat -c '%a' "$f" > "$SCRATCH/ed.mode"
stat -c '%a' "$(dirname "$f")" > "$SCRATCH/ed.dirmode"
cp "$f" "$SCRATCH/ed.seen"
eval "$EDIT_SCRIPT"
EOS
chmod +x "$SCRATCH/ed"
export SCRATCH
ed() { EDITOR="$SCRATCH/ed" EDIT_SCRIPT="$1"; export EDITOR EDIT_SCRIPT; }
# answers TEXT: standard input for the next command, as a file (expect
# must not run in a pipeline's subshell, where its fail would not stop us).
answers() { printf "$1" > "$SCRATCH/answers"; }

step "the file holds the keys under the prefix, as export writes them, privately"
ed ':'
before=$(head_rev)
w edit ntpd </dev/null
assert_out 'no changes; nothing committed'
assert_eq "$(cat "$SCRATCH/ed.mode")" 600 "file mode"
assert_eq "$(cat "$SCRATCH/ed.dirmode")" 700 "directory mode"
case $(cat "$SCRATCH/ed.path") in "$TMPDIR"/cfgstore-edit.*/*) ;; *) fail "not in TMPDIR: $(cat "$SCRATCH/ed.path")";; esac
"$CFGSTORE" export | grep -E '^set (--[a-z]+ )?ntpd\.' > "$SCRATCH/want"
grep -v '^#' "$SCRATCH/ed.seen" > "$SCRATCH/got"
cmp -s "$SCRATCH/want" "$SCRATCH/got" || { diff "$SCRATCH/want" "$SCRATCH/got"; fail "not the export of ntpd"; }
assert_eq "$(head_rev)" "$before" "head after an unchanged edit"
no_leftovers

step "emptied: nothing committed"
ed ': > "$f"'
w edit ntpd </dev/null
assert_out 'no changes; nothing committed'
assert_eq "$(head_rev)" "$before" "head after an emptied edit"
w get ntpd.listen; assert_out 10.0.0.2
no_leftovers

step "a change, an addition and a deletion: shown key by key, one commit with -y"
ed 'sed -i "s/^set ntpd.listen 10.0.0.2$/set ntpd.listen 10.0.0.7/; /ntpd.extra0/d" "$f"; echo "set ntpd.extra x" >> "$f"'
w edit -y -m "by hand" ntpd </dev/null
assert_grep '^- ntpd.listen = 10.0.0.2$' "$SCRATCH/out"
assert_grep '^\+ ntpd.listen = 10.0.0.7$' "$SCRATCH/out"
assert_grep '^- ntpd.extra0 = old$' "$SCRATCH/out"
assert_grep '^\+ ntpd.extra = x$' "$SCRATCH/out"
assert_grep "^fw1: committed r$((before + 1))" "$SCRATCH/out"
assert_eq "$(head_rev)" "$((before + 1))" "one commit"
w log -n 1
assert_grep ' by hand$' "$SCRATCH/out"
[ "$(grep -c '^    ' "$SCRATCH/out")" -eq 3 ] || fail "not 3 ops in the commit"
expect 1 "$CFGSTORE" get ntpd.extra0
w get unbound.interface; assert_out 10.0.0.53
no_leftovers

step "without -y, the answer comes from standard input: n commits nothing"
ed 'sed -i "s/10.0.0.7/10.0.0.8/" "$f"'
before=$(head_rev)
answers 'n\n'; expect 1 "$CFGSTORE" edit ntpd < "$SCRATCH/answers"
assert_grep 'commit this change\? \[y/N\] nothing committed' "$SCRATCH/out"
assert_eq "$(head_rev)" "$before" "head after answering n"
expect 1 "$CFGSTORE" edit ntpd </dev/null
assert_eq "$(head_rev)" "$before" "head after no answer"
answers 'y\n'; expect 0 "$CFGSTORE" edit --no-wait ntpd < "$SCRATCH/answers"
w get ntpd.listen; assert_out 10.0.0.8
no_leftovers

step "a file that does not parse is reopened with its error at the top, not lost"
cat > "$SCRATCH/ed2" <<'EOS'
if [ ! -e "$SCRATCH/round" ]; then
	echo 1 > "$SCRATCH/round"
	sed -i "s/10.0.0.8/10.0.0.9/" "$f"
	echo 'set ntpd.bad "unterminated' >> "$f"
else
	head -n 1 "$f" > "$SCRATCH/first-line"
	cp "$f" "$SCRATCH/second"
	sed -i '/ntpd.bad/d' "$f"
fi
EOS
ed ". \"$SCRATCH/ed2\""
before=$(head_rev)
answers 'y\ny\n'; expect 0 "$CFGSTORE" edit --no-wait ntpd < "$SCRATCH/answers"
assert_grep '^# error: edit:[0-9]+: unterminated quote$' "$SCRATCH/first-line"
assert_grep '^set ntpd.listen 10.0.0.9$' "$SCRATCH/second"
assert_grep '^set ntpd.bad "unterminated$' "$SCRATCH/second"
assert_grep 'edit again\? \[y/N\]' "$SCRATCH/out"
w get ntpd.listen; assert_out 10.0.0.9
assert_eq "$(head_rev)" "$((before + 1))" "one commit after the fix"
no_leftovers

step "an unparsable file and no more answers: exit 2, nothing committed"
ed 'echo "set ntpd.bad \"x" >> "$f"'
before=$(head_rev)
expect 2 "$CFGSTORE" edit ntpd </dev/null
assert_grep '^cfgstore: nothing committed: edit:[0-9]+: unterminated quote$' "$SCRATCH/err"
assert_eq "$(head_rev)" "$before" "head"
# An editor that leaves the error as it is gives up too, even when asked.
ed 'case $(head -n 1 "$f") in "# error:"*) ;; *) echo "set x \"" >> "$f";; esac'
yes y | head -n 50 > "$SCRATCH/answers"
expect 2 "$CFGSTORE" edit ntpd < "$SCRATCH/answers"
assert_eq "$(head_rev)" "$before" "head"
no_leftovers

step "a key outside the prefix is refused, naming its line"
ed 'echo "set unbound.interface 10.9.9.9" >> "$f"'
expect 2 "$CFGSTORE" edit ntpd </dev/null
assert_grep "key 'unbound.interface' is not under 'ntpd'" "$SCRATCH/err"
w get unbound.interface; assert_out 10.0.0.53
no_leftovers

step "a failing editor commits nothing"
EDITOR=false expect 1 "$CFGSTORE" edit ntpd </dev/null
assert_err_line "the editor \(false\) failed; nothing committed"
no_leftovers

step "killed while the editor runs: the file and its directory are removed"
ed 'p=$$; while [ "$(ps -o comm= -p "$p")" != cfgstore ]; do p=$(ps -o ppid= -p "$p" | tr -d " "); done; kill -TERM "$p"; sleep 0.5'
expect 1 "$CFGSTORE" edit ntpd </dev/null
no_leftovers

step "a replica refuses before the editor opens, naming the primary"
expect 0 "$CFGSTORE" -d "$SCRATCH/r" init --node fw2
rm -f "$SCRATCH/ed.path"
expect 1 "$CFGSTORE" -d "$SCRATCH/r" edit ntpd </dev/null
assert_err_line "^cfgstore: fw2 is a replica: edit on the primary \(no primary known\)$"
[ ! -e "$SCRATCH/ed.path" ] || fail "the editor opened on a replica"
expect 0 "$CFGSTORE" -d "$SCRATCH/r" peer add fw1 127.0.0.1:1 "$("$CFGSTORE" key)"
expect 1 "$CFGSTORE" -d "$SCRATCH/r" edit ntpd </dev/null
assert_err_line "^cfgstore: fw2 is a replica: edit on the primary, fw1$"
no_leftovers

step "blobs and the whole store go through the editor unchanged"
ed ':'
w edit template </dev/null
assert_out 'no changes; nothing committed'
w edit </dev/null
assert_out 'no changes; nothing committed'
printf 'k\0\377' > "$SCRATCH/bin"
w set --no-wait --file dhcpd.key "$SCRATCH/bin"
ed 'sed -i "s/^set ntpd.listen .*/set ntpd.listen 10.0.0.10/" "$f"'
w edit -y --no-wait
head -n 2 "$SCRATCH/out" > "$SCRATCH/changes"
printf '%s\n' '- ntpd.listen = 10.0.0.9' '+ ntpd.listen = 10.0.0.10' |
    cmp -s - "$SCRATCH/changes" || { cat "$SCRATCH/out"; fail "not the one change"; }
assert_grep "^fw1: committed r$(head_rev)" "$SCRATCH/out"
w get dhcpd.key; cmp -s "$SCRATCH/out" "$SCRATCH/bin" || fail "the blob changed"

step "apply --replace: the keys under the prefix become the batch's"
w set --no-wait site.a 1
w set --no-wait site.b 2
w set --no-wait sitex.c 3
before=$(head_rev)
printf 'set site.a 10\nset site.new y\n' > "$SCRATCH/batch"
w apply --no-wait --replace site. "$SCRATCH/batch"
assert_eq "$(head_rev)" "$((before + 1))" "one commit"
w list site
assert_out 'site.a = 10
site.new = y
sitex.c = 3'
w apply --no-wait --replace site. "$SCRATCH/batch"
assert_grep 'unchanged' "$SCRATCH/out"
printf 'set site.a 1\nset sitex.d 2\n' > "$SCRATCH/outside"
expect 2 "$CFGSTORE" apply --replace site. "$SCRATCH/outside"
assert_err_line "outside:2: key 'sitex.d' is not under 'site.', the prefix being replaced"
w list site.
assert_out 'site.a = 10
site.new = y'
answers '# nothing\n'; expect 0 "$CFGSTORE" apply --no-wait --replace site. - < "$SCRATCH/answers"
w list site.; [ ! -s "$SCRATCH/out" ] || fail "site. keys left after replacing with nothing"
w get sitex.c; assert_out 3
answers 'del sitex.none\nset sitex.c 3\n'
expect 0 "$CFGSTORE" apply --no-wait --replace sitex - < "$SCRATCH/answers"
assert_grep 'unchanged' "$SCRATCH/out"
expect 0 "$CFGSTORE" verify

step "on a terminal: edit and rollback ask there, -y does not"
cat > "$SCRATCH/on_tty.py" <<'EOS'
import os, pty, sys, time
# on_tty.py ANSWER|- CMD...: runs CMD on a new terminal, answers the question
# (when ANSWER is not "-"), prints what the terminal showed, exits as CMD.
answer, cmd = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
out = b""
deadline = time.time() + 20
answered = answer == "-"
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
    if not answered and b"[y/N] " in out:
        if os.environ.get("ON_PROMPT"):
            os.system(os.environ["ON_PROMPT"])
        os.write(fd, (answer + "\n").encode())
        answered = True
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode("utf-8", "replace").replace("\r\n", "\n"))
sys.exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 100)
EOS
ed 'sed -i "s/^set unbound.interface .*/set unbound.interface 10.0.0.54/" "$f"'
before=$(head_rev)
expect 1 python3 "$SCRATCH/on_tty.py" n "$CFGSTORE" edit unbound
assert_grep '^\+ unbound.interface = 10.0.0.54$' "$SCRATCH/out"
assert_grep 'commit this change\? \[y/N\] n$' "$SCRATCH/out"
assert_eq "$(head_rev)" "$before" "head after n on the terminal"
expect 0 python3 "$SCRATCH/on_tty.py" y "$CFGSTORE" edit --no-wait unbound
assert_grep "^fw1: committed r$((before + 1))" "$SCRATCH/out"
before=$(head_rev)
expect 1 python3 "$SCRATCH/on_tty.py" n "$CFGSTORE" rollback --no-wait
assert_grep "^rollback to r$((before - 1)) changes:$" "$SCRATCH/out"
assert_grep '^- unbound.interface = 10.0.0.54$' "$SCRATCH/out"
assert_grep '^\+ unbound.interface = 10.0.0.53$' "$SCRATCH/out"
assert_grep "make r$((before + 1)) with the state of r$((before - 1))\? \[y/N\] n$" "$SCRATCH/out"
assert_eq "$(head_rev)" "$before" "head after n"
expect 0 python3 "$SCRATCH/on_tty.py" y "$CFGSTORE" rollback --no-wait
assert_eq "$(head_rev)" "$((before + 1))" "head after y"
w get unbound.interface; assert_out 10.0.0.53
w log -n 1
assert_grep "  rollback to r$((before - 1))$" "$SCRATCH/out"
# A commit between the question and the answer: what was shown no longer
# holds, so nothing is committed and that commit stays.
before=$(head_rev)
ON_PROMPT="'$CFGSTORE' set --no-wait unbound.interface 10.0.0.99 >/dev/null" \
    expect 1 python3 "$SCRATCH/on_tty.py" y "$CFGSTORE" rollback --no-wait
assert_grep "^cfgstore: .*r$before" "$SCRATCH/out"
assert_eq "$(head_rev)" "$((before + 1))" "head after a rollback gone stale"
w get unbound.interface; assert_out 10.0.0.99
w rollback --no-wait </dev/null
w get unbound.interface; assert_out 10.0.0.53
expect 0 python3 "$SCRATCH/on_tty.py" - "$CFGSTORE" rollback -y --no-wait
assert_no_grep '\[y/N\]' "$SCRATCH/out"
w get unbound.interface; assert_out 10.0.0.99
no_leftovers
ok "edit and apply --replace"
