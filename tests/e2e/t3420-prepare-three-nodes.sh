#!/bin/sh
# fw1 asks fw2 and fw3 to check a write at the same time, not one after
# the other; a peer whose checks outlast the deadline is not checked
# (exit 3) and the write commits; one that checks longer than a
# keepalive period sends pongs and its verdict still counts.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

# Every node's checker sleeps as long as its node's file says.
for n in fw1 fw2 fw3; do
	mkdir -p "$SCRATCH/bin-$n"
	echo 0 > "$SCRATCH/sleep-$n"
	cat > "$SCRATCH/bin-$n/nodecheck" <<EOS
#!/bin/sh
sleep \$(cat "$SCRATCH/sleep-$n")
echo "$n \$1" >> "$SCRATCH/checks"
exit 0
EOS
	chmod +x "$SCRATCH/bin-$n/nodecheck"
done
PATH="$SCRATCH/bin-fw1:$PATH"
export PATH
ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }

star fw1 fw2 fw3
start fw1
start fw2 env PATH="$SCRATCH/bin-fw2:$PATH"
start fw3 env PATH="$SCRATCH/bin-fw3:$PATH"
guide fw1 || { cat "$SCRATCH/out"; fail "guide"; }
r=$(head_of fw1)
wait_head fw2 "$r"
wait_head fw3 "$r"
expect 0 on fw1 set service.ntpd.check "nodecheck {}"
r=$((r + 1))

step "both peers check at the same time"
echo 2 > "$SCRATCH/sleep-fw2"
echo 2 > "$SCRATCH/sleep-fw3"
: > "$SCRATCH/checks"
# --no-wait: the renders after the commit run the checkers again.
start_ms=$(ms)
expect 0 on fw1 set --no-wait ntpd.servers 1.pool.ntp.org
took=$(($(ms) - start_ms))
r=$((r + 1))
[ "$took" -lt 3500 ] ||
    fail "two 2 s checks took $took ms: one after the other"
assert_grep '^fw2 .*cfgstore-check' "$SCRATCH/checks"
assert_grep '^fw3 .*cfgstore-check' "$SCRATCH/checks"
wait_for acked fw1 fw2 "$r" || fail "fw2 did not acknowledge r$r"
wait_for acked fw1 fw3 "$r" || fail "fw3 did not acknowledge r$r"

step "fw3 checks past the deadline: not checked, committed, exit 3"
echo 0 > "$SCRATCH/sleep-fw2"
echo 4 > "$SCRATCH/sleep-fw3"
CFGSTORE_PREPARE_WAIT=1.5 CFGSTORE_WAIT=10 \
    expect 3 on fw1 set ntpd.servers 2.pool.ntp.org
r=$((r + 1))
assert_grep '^fw3: not checked \(no verdict in 1.5 s\)$' "$SCRATCH/out"
assert_no_grep '^fw2: not checked' "$SCRATCH/out"
assert_grep "^fw1: committed r$r" "$SCRATCH/out"
assert_grep "^fw2: applied r$r" "$SCRATCH/out"
# fw3 answers the prepare late, then takes the commit as usual.
wait_head fw3 "$r"
wait_for acked fw1 fw3 "$r" || fail "fw3 did not acknowledge r$r"

step "a check longer than a keepalive period: pongs, and the verdict counts"
echo 7 > "$SCRATCH/sleep-fw2"
echo 0 > "$SCRATCH/sleep-fw3"
# Its render after the commit runs the 7 s checker again.
CFGSTORE_WAIT=15 expect 0 on fw1 set ntpd.servers 3.pool.ntp.org
r=$((r + 1))
assert_grep "^fw2: applied r$r" "$SCRATCH/out"
grep -q "fw2: still checking" "$SCRATCH/fw1.log" ||
    fail "fw1 did not hear fw2 was still checking"
same fw1 fw2 fw3
stop fw1
stop fw2
stop fw3
ok "t3420"
