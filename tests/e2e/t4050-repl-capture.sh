#!/bin/sh
# A packet capture of the link while secrets are committed and replicated
# never holds them in the clear.  The capture is shown to have recorded
# the link (its handshake opening, and more bytes than the secrets), and
# the search to find the secret where it is in the clear, so the test
# would fail if the link leaked.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

# tools/deps.sh installs tcpdump; without it this is a skip, not a pass.
command -v tcpdump >/dev/null || { echo "SKIP: tcpdump not installed"; exit 77; }

# contains FILE TEXT: FILE holds the bytes of TEXT somewhere.
contains() {
	python3 -c 'import sys; sys.exit(0 if sys.argv[2].encode() in open(sys.argv[1], "rb").read() else 1)' "$1" "$2"
}

step "two nodes; the capture starts before the daemons"
node_init fw1 --primary
node_init fw2
pair fw1 fw2
port=$(cat "$SCRATCH/fw2/port")
tcpdump -i lo -U -s 0 -w "$SCRATCH/link.pcap" "tcp port $port" \
    2> "$SCRATCH/tcpdump.err" &
tcpdump=$!
test_pids="$test_pids $tcpdump"
wait_for grep -q "listening on" "$SCRATCH/tcpdump.err" ||
    { cat "$SCRATCH/tcpdump.err"; fail "tcpdump did not start"; }
start fw1
start fw2
guide fw1 || { cat "$SCRATCH/out"; fail "guide"; }

step "secrets committed on fw1 arrive on fw2"
secret="carp-pass-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
keytext="dhcpd-key-$(python3 -c 'import secrets; print(secrets.token_hex(24))')"
printf '%s' "$keytext" > "$SCRATCH/dhcpd.key"
expect 0 on fw1 set carp.carp1.pass "$secret"
expect 0 on fw1 set --file dhcpd.key "$SCRATCH/dhcpd.key"
assert_grep "^fw2: applied r[0-9]+, restarted dhcpd" "$SCRATCH/out"
contains "$SCRATCH/fw2/root/var/db/dhcpd.key" "$keytext" ||
    fail "dhcpd.key not on fw2"
contains "$SCRATCH/fw2/root/etc/hostname.carp1" "$secret" ||
    fail "the CARP password not on fw2"
stop fw1
stop fw2
sleep 0.5
kill -INT "$tcpdump"
wait "$tcpdump"

step "the capture holds the link's traffic"
packets=$(tcpdump -r "$SCRATCH/link.pcap" 2>/dev/null | wc -l)
bytes=$(stat -c %s "$SCRATCH/link.pcap")
echo "captured $packets packets, $bytes bytes"
[ "$packets" -gt 10 ] || fail "too few packets captured"
[ "$bytes" -gt $((${#secret} + ${#keytext} + 4096)) ] ||
    fail "too few bytes captured"
contains "$SCRATCH/link.pcap" "CFGLINK1" ||
    fail "the handshake is not in the capture"

step "the search finds a secret where it is in the clear"
contains "$(dir fw2)/data.mdb" "$keytext" || fail "search is blind"

step "neither secret is in the capture, nor in a log"
contains "$SCRATCH/link.pcap" "$secret" && fail "CARP password on the wire"
contains "$SCRATCH/link.pcap" "$keytext" && fail "dhcpd.key on the wire"
contains "$SCRATCH/link.pcap" "carp-pass-" && fail "a prefix on the wire"
for n in fw1 fw2; do
	contains "$SCRATCH/$n.log" "$secret" && fail "secret in $n's log"
	contains "$SCRATCH/$n.log" "$keytext" && fail "key in $n's log"
done
ok "t4050"
