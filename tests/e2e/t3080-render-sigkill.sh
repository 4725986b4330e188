#!/bin/sh
# SIGKILL at any moment of a render: every destination file is always the
# complete old or the complete new file, never a mix or a truncation; the
# next render removes the candidates left behind and restarts whatever
# was installed but not yet restarted.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

root="$SCRATCH/root"
guide_store fw1 fw2
test_commands "$root"

# Two states, A and B, that differ in every service's files; big enough
# (unbound.local-data) that a render takes a while.
i=0; : > "$SCRATCH/data"
while [ $i -lt 3000 ]; do
	echo "h$i.home.example.com. A 10.0.$((i / 250)).$((i % 250 + 1))" >> "$SCRATCH/data"
	i=$((i + 1))
done
python3 - "$SCRATCH" <<'EOP'
import sys
d = sys.argv[1]
data = ['"%s"' % l.strip() for l in open(d + "/data")]
for name, last, skew, key in (("A", "1", "0", "key-A"), ("B", "2", "10", "key-B")):
    with open("%s/%s.apply" % (d, name), "w") as f:
        f.write("set ntpd.listen 10.0.0.1%s\n" % last)
        f.write("set nsd.listen 127.0.0.1@1005%s\n" % last)
        f.write("set dhcpd.ntp-servers 10.0.0.2 10.0.0.%s\n" % (last + "3"))
        f.write("set carp.carp1.advskew %s\n" % skew)
        f.write("set --file dhcpd.key %s/%s\n" % (d, key))
        f.write("set unbound.local-data %s\n" % " ".join(data[:2000 + int(last)]))
    open("%s/%s" % (d, key), "w").write(key * 1000)
EOP

# The files of each state, as a render without kills leaves them.
for s in A B; do
	write "$CFGSTORE" apply --no-wait "$SCRATCH/$s.apply"
	expect 0 "$CFGSTORE" render --root "$root"
	cp -a "$root" "$SCRATCH/$s"
	(cd "$root" && find . -type f -exec sha256sum {} +) >> "$SCRATCH/allowed"
done
restarts >/dev/null

# valid: every file under root is one of the two versions of that file.
valid() {
	(cd "$root" && find . -type f ! -name '*.cfgstore-new.*' -exec sha256sum {} +) |
	while read -r sum path; do
		grep -qx "$sum  $path" "$SCRATCH/allowed" || {
			echo "$path is neither A nor B"; return 1; }
	done
}

step "a render killed at random moments, 40 times"
state=B
n=0
while [ $n -lt 40 ]; do
	state=$([ $state = A ] && echo B || echo A)
	write "$CFGSTORE" apply --no-wait "$SCRATCH/$state.apply"
	"$CFGSTORE" render --root "$root" >/dev/null 2>&1 &
	pid=$!
	sleep "0.0$(( (n * 37) % 10 ))$(( (n * 53) % 10 ))"
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	valid || fail "after kill $n, a file is torn"
	n=$((n + 1))
done

step "the next render cleans up and finishes the job"
left=$(find "$root" -name '*.cfgstore-new.*' | wc -l)
echo "candidates left by the kills: $left"
# And one for certain, as a kill between mkstemp and rename leaves it.
echo partial > "$root/etc/.ntpd.conf.cfgstore-new.AbC123"
: > "$RESTARTS"
expect 0 "$CFGSTORE" render --root "$root"
find "$root" -name '*.cfgstore-new.*' | grep . && fail "candidates remain"
diff -r "$SCRATCH/$state" "$root" || fail "root is not state $state"

step "killed after installing, before restarting: the next render restarts"
cat > "$SCRATCH/bin/slow" <<EOS
#!/bin/sh
echo "\$1" >> "$SCRATCH/slow-started"
sleep 3
EOS
chmod +x "$SCRATCH/bin/slow"
restart_with ntpd "$SCRATCH/bin/slow ntpd"
write "$CFGSTORE" set --no-wait ntpd.listen 10.0.0.77
"$CFGSTORE" render --root "$root" ntpd >/dev/null 2>&1 &
pid=$!
wait_for test -s "$SCRATCH/slow-started" || fail "the restart never started"
kill -9 $pid; wait $pid 2>/dev/null
grep -q 'listen on 10.0.0.77' "$root/etc/ntpd.conf" || fail "not installed"
restart_with ntpd "$SCRATCH/bin/ok ntpd"
: > "$RESTARTS"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "restarted ntpd"
assert_eq "$(restarts)" "ntpd" "restarts"
expect 4 "$CFGSTORE" status --json
assert_grep '"restarted after an interrupted render"' "$SCRATCH/out"
expect 0 "$CFGSTORE" render --root "$root"
assert_out "no change"
ok "t3080"
