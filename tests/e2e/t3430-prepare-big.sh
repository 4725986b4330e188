#!/bin/sh
# A large write goes to the peers whole: an apply of 100,000 keys that
# also changes fw2's ntpd.conf travels to the daemon and on to fw2 as one
# candidate (a control request followed by its bytes, one prepare
# message), is checked there, refused, and nothing is written; the same
# keys with a value fw2 takes commit.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

nodechecks
# A sanitizer build takes minutes over what takes a second here.
CFGSTORE_PREPARE_WAIT=300
CFGSTORE_WAIT=300
export CFGSTORE_PREPARE_WAIT CFGSTORE_WAIT

two_nodes env PATH="$SCRATCH/bin2:$PATH"
guide_synced fw1 fw2
expect 0 on fw1 set service.ntpd.check "nodecheck {}"
r=$((r + 1))
wait_head fw2 $r

step "100,000 keys and fw2's ntpd.conf: refused by fw2, nothing written"
python3 - "$SCRATCH/big" 10.0.0.66 <<'EOS'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(100000):
        f.write("set bulk.k%06d value-%06d-%s\n" % (i, i, "x" * 40))
    f.write("set ntpd.listen@fw2 %s\n" % sys.argv[2])
EOS
wait_for acked fw1 fw2 $r || fail "fw2 did not acknowledge r$r"
store_fingerprint "$(dir fw1)" > "$SCRATCH/fp1"
expect 2 on fw1 apply "$SCRATCH/big"
assert_grep '^cfgstore: fw2: ntpd: /etc/ntpd.conf: .*10.0.0.66 is not an address of this host$' \
    "$SCRATCH/err"
grep -q "prepare [0-9]* on r$r: no, 1 checks" "$SCRATCH/fw2.log" ||
    fail "fw2 did not check the whole change"
store_fingerprint "$(dir fw1)" > "$SCRATCH/fp1.after"
cmp -s "$SCRATCH/fp1" "$SCRATCH/fp1.after" || fail "fw1 wrote something"
[ "$(head_of fw2)" = "$r" ] || fail "fw2 moved"

step "the same keys with an address fw2 has: committed on both"
sed -i 's/^set ntpd.listen@fw2 .*/set ntpd.listen@fw2 10.0.0.77/' \
    "$SCRATCH/big"
expect 0 on fw1 apply "$SCRATCH/big"
r=$((r + 1))
assert_grep "^fw2: applied r$r" "$SCRATCH/out"
grep -q "prepare [0-9]* on r$((r - 1)): yes, 1 checks" "$SCRATCH/fw2.log" ||
    fail "fw2 did not check it"
expect 0 on fw2 get bulk.k099999
assert_out "value-099999-$(printf 'x%.0s' $(seq 40))"
stop fw1
stop fw2
ok "t3430"
