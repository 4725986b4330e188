#!/bin/sh
# check: every host's candidate files, checked by the real checkers in a
# private scratch directory before anything is committed.  A value a
# checker refuses is reported for the host that gets it, and nothing at
# all is written: store, files, restarts.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/golden/render-lib.sh"

for c in unbound-checkconf nsd-checkconf nsd-checkzone ntpd dhcpd; do
	command -v $c >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin"
	command -v $c >/dev/null 2>&1 || fail "checker $c is not installed"
done
root="$SCRATCH/root"
tmp="$SCRATCH/tmp"
mkdir -p "$tmp"
TMPDIR=$tmp
export TMPDIR

guide_store fw1 fw2
mkdir -p "$SCRATCH/bin"
cat > "$SCRATCH/bin/ok" <<EOS
#!/bin/sh
echo "\$1" >> "$RESTARTS"
EOS
chmod +x "$SCRATCH/bin/ok"
: > "$RESTARTS"
# ISC dhcpd checks with -t -cf (see render-lib.sh); every service's
# restart is logged, so a restart by check would show.
batch "set service.dhcpd.check \"dhcpd -t -cf {}\"" \
    "set service.ntpd.restart \"$SCRATCH/bin/ok ntpd\"" \
    "set service.nsd.restart \"$SCRATCH/bin/ok nsd\"" \
    "set service.unbound.restart \"$SCRATCH/bin/ok unbound\"" \
    "set service.dhcpd.restart \"$SCRATCH/bin/ok dhcpd\"" \
    "set service.carp.restart \"$SCRATCH/bin/ok carp\""
fp=$(store_fingerprint "$CFGSTORE_DIR")
data_sum=$(sha256sum < "$CFGSTORE_DIR/data.mdb")

# No daemon runs here, so fw2 itself cannot be asked (t3400 asks it):
# its files are checked here only, which exits 3.
unasked="fw2: not checked (cfgstore serve is not running here)"

step "the head: every file of every service on both hosts passes"
expect 3 "$CFGSTORE" check
# unbound, nsd (conf and two zones), ntpd, dhcpd, on fw1 and fw2.
assert_out "$unasked
passed: 12 checks, and on 0 of 1 peers"

step "a good batch: only the services whose bytes change are checked"
printf 'set ntpd.listen 10.0.0.9\n' > "$SCRATCH/good"
expect 3 "$CFGSTORE" check "$SCRATCH/good"
# fw2 has its own listen address: only fw1's ntpd.conf changes.
assert_out "$unasked
passed: 1 checks, and on 0 of 1 peers"
expect 3 "$CFGSTORE" check - < "$SCRATCH/good"
assert_out "$unasked
passed: 1 checks, and on 0 of 1 peers"

step "an override for fw2 that ntpd refuses: refused for fw2 only"
printf 'set ntpd.listen@fw2 "10.0.0.3 bogus"\n' > "$SCRATCH/bad"
expect 2 "$CFGSTORE" check "$SCRATCH/bad"
assert_grep '^fw2: ntpd: /etc/ntpd.conf: .*ntpd.conf:[0-9]+: syntax error$' \
    "$SCRATCH/out"
assert_no_grep '^fw1:' "$SCRATCH/out"
assert_grep '^refused: 1 of 1 checks$' "$SCRATCH/out"
assert_no_grep 'cfgstore-check' "$SCRATCH/out"

step "each real checker refuses a broken value, for both hosts"
for bad in "unbound unbound.access-control '10.0.0.0/24 allow-everyone'" \
    "nsd nsd.listen 'not an address'" \
    "ntpd ntpd.servers 'pool.ntp.org extra-word'" \
    "dhcpd dhcpd.subnet.lan.netmask 'not-a-mask'"; do
	eval "set -- $bad"
	svc=$1; shift
	printf "set %s '%s'\n" "$1" "$2" > "$SCRATCH/bad"
	expect 2 "$CFGSTORE" check "$SCRATCH/bad"
	assert_grep "^fw1: $svc: /[^ ]+: ." "$SCRATCH/out"
	assert_grep "^fw2: $svc: /[^ ]+: ." "$SCRATCH/out"
	assert_grep '^refused: 2 of [0-9]+ checks$' "$SCRATCH/out"
done

step "a template that no longer renders is refused too"
printf 'del ntpd.servers\n' > "$SCRATCH/bad"
expect 2 "$CFGSTORE" check "$SCRATCH/bad"
assert_grep "^fw1: ntpd: cannot be rendered: .*ntpd.servers" "$SCRATCH/out"

step "the checks of both hosts run at the same time"
batch "set service.ntpd.check \"sleep 2; ntpd -n -f {}\""
printf 'set ntpd.listen 10.0.0.9\nset ntpd.listen@fw2 10.0.0.8\n' > "$SCRATCH/slow"
start=$(date +%s)
expect 3 "$CFGSTORE" check "$SCRATCH/slow"
took=$(( $(date +%s) - start ))
assert_out "$unasked
passed: 2 checks, and on 0 of 1 peers"
[ "$took" -lt 4 ] || fail "two 2 s checks took $took s: not at the same time"
batch "set service.ntpd.check \"ntpd -n -f {}\""
fp=$(store_fingerprint "$CFGSTORE_DIR")
data_sum=$(sha256sum < "$CFGSTORE_DIR/data.mdb")

step "nothing was written: store, files, restarts, scratch directories"
expect 2 "$CFGSTORE" check "$SCRATCH/bad"
expect 3 "$CFGSTORE" check
assert_eq "$(store_fingerprint "$CFGSTORE_DIR")" "$fp" "store content"
assert_eq "$(sha256sum < "$CFGSTORE_DIR/data.mdb")" "$data_sum" "data.mdb"
assert_eq "$(restarts)" "" "restarts"
[ ! -e "$root" ] || fail "check created $root"
assert_eq "$(ls -A "$tmp")" "" "scratch directories left"

step "bad input: one line, exit 2"
expect 2 "$CFGSTORE" check "$SCRATCH/nosuch"
assert_err_line "nosuch"
printf 'frob x\n' > "$SCRATCH/junk"
expect 2 "$CFGSTORE" check "$SCRATCH/junk"
assert_err_line "junk:1: unknown operation"
expect 2 "$CFGSTORE" check a b
ok "t3210"
