#!/bin/sh
# A replica out of descriptors cannot accept: it waits a little before it
# tries again rather than spinning on accept(2), and serves its primary
# again once descriptors are free.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

command -v prlimit > /dev/null || { echo "SKIP: no prlimit"; exit 77; }
HOSTILE="$BUILDDIR/tests/hostile_peer"

# cpu PID: user + system time in clock ticks.
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

step "fw2 with a few descriptors to spare"
node_init fw1 --primary
node_init fw2
pair fw1 fw2
start fw2 prlimit --nofile=24
start fw1
guide_synced fw1 fw2

step "connections beyond them: accept fails, fw2 does not spin"
"$HOSTILE" "$(addr fw2)" flood 40 4 > "$SCRATCH/flood.out" 2>&1 &
flood=$!
test_pids="$test_pids $flood"
wait_for grep -q "accept: Too many open files" "$SCRATCH/fw2.log" ||
    fail "fw2 never ran out of descriptors"
c0=$(cpu "$(pid fw2)")
sleep 2
c1=$(cpu "$(pid fw2)")
echo "fw2 used $((c1 - c0)) ticks in 2 s"
# Spinning is 200 ticks (100 Hz) in 2 s; backing off, a few.
[ $((c1 - c0)) -lt 60 ] || fail "fw2 spins: $((c1 - c0)) ticks in 2 s"
wait "$flood"

step "descriptors free again: fw1's commits applied"
expect 0 on fw1 set ntpd.listen@fw2 10.0.0.88
assert_grep "^fw2: applied r$((r + 1)), restarted ntpd" "$SCRATCH/out"
ok "t4090"
