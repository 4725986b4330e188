#!/bin/sh
# A commit the daemon was not told of (a `set` killed between its commit
# and its notice) is rendered and pushed within the daemon's 10 s look
# at the head,
# even while control clients keep talking to it; and when a render fails,
# the daemon's log says why (the checker's line), not only that it did.
. "$(dirname "$0")/lib.sh"
. "$SRCDIR/tests/tools/repl-lib.sh"

step "fw1 and fw2 in step"
two_nodes
guide_synced fw1 fw2
restarts > /dev/null

step "a commit made while the control socket is moved aside"
mv "$(dir fw1)/serve.sock" "$SCRATCH/serve.sock.aside"
expect 3 on fw1 set ntpd.listen 10.0.0.99
assert_grep "cfgstore serve is not running" "$SCRATCH/out"
mv "$SCRATCH/serve.sock.aside" "$(dir fw1)/serve.sock"
grep -q "listen on 10.0.0.99" "$SCRATCH/fw1/root/etc/ntpd.conf" &&
    fail "rendered before anyone could have told the daemon"

step "status every 2 s meanwhile: rendered within 25 s all the same"
i=0
until grep -q "listen on 10.0.0.99" "$SCRATCH/fw1/root/etc/ntpd.conf"; do
	i=$((i + 1))
	[ $i -le 12 ] || { tail "$SCRATCH/fw1.log"; fail "not rendered"; }
	on fw1 status > /dev/null || [ $? -eq 4 ] || fail "status"
	sleep 2
done
wait_head fw2 $((r + 1))
# fw2 keeps its own ntpd.listen@fw2: nothing to restart there.
assert_eq "$(restarts)" "fw1 ntpd" "restarts"

step "a checker that refuses: the log quotes it"
cat > "$SCRATCH/bad-check" <<-EOS
#!/bin/sh
echo "\$1:3: unknown keyword 'lisen'" >&2
exit 1
EOS
chmod +x "$SCRATCH/bad-check"
expect 0 on fw1 set service.ntpd.check "$SCRATCH/bad-check {}"
# The write's own checks would refuse it: forced, the daemon renders it.
expect 2 on fw1 set ntpd.listen 10.0.0.98
expect 3 on fw1 set --force ntpd.listen 10.0.0.98
wait_for grep -q "r[0-9]*: ntpd: check failed for .*ntpd.conf.*:3: unknown keyword 'lisen'" \
    "$SCRATCH/fw1.log" || { tail "$SCRATCH/fw1.log"; fail "no reason logged"; }

stop fw1
stop fw2
ok "t4100"
