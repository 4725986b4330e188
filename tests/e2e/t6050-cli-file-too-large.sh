#!/bin/sh
# A --file that is a device or a pipe is read up to the 8 MiB limit and
# then refused: exit 2, one line, nothing written, and (under ASan) the
# partial buffer freed, so LeakSanitizer has nothing to report.
. "$(dirname "$0")/lib.sh"

expect 0 "$CFGSTORE" init --node fw1 --primary
before=$("$CFGSTORE" log -n 1)

step "apply: set --file of /dev/zero"
echo 'set --file a.z /dev/zero' > "$SCRATCH/batch"
expect 2 "$CFGSTORE" apply - < "$SCRATCH/batch"
assert_err_line "^cfgstore: stdin:1: /dev/zero: File too large$"

step "set --file of /dev/zero and of a pipe"
expect 2 "$CFGSTORE" set --file a.z /dev/zero
assert_err_line "^cfgstore: /dev/zero: File too large$"
head -c $(((8 << 20) + 1)) /dev/zero > "$SCRATCH/big"
expect 2 "$CFGSTORE" set --file a.z "$SCRATCH/big"
assert_err_line "value too large: 8388609 bytes \(limit 8388608\)"
expect 2 sh -c "cat '$SCRATCH/big' | '$CFGSTORE' set --file a.z /dev/stdin"
assert_err_line "/dev/stdin: File too large$"

step "nothing was written"
[ "$("$CFGSTORE" log -n 1)" = "$before" ] || fail "a refused --file made a commit"
expect 1 "$CFGSTORE" get a.z
ok "a too large --file is refused without a leak"
