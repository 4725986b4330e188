#!/bin/bash
# check-bench.sh - what the checks of a write cost, run on demand:
#
#	bench/check-bench.sh [BUILDDIR] [ITERATIONS]
#
# A primary fw1 that knows a peer fw2 (not running: --no-wait), holding
# the guide's values, with OpenNTPD's real checker.  Wall time of:
#  1. `set` of a key no file reads: no checker runs;
#  2. `set` of ntpd.servers, which changes ntpd.conf on both hosts: both
#     hosts' files rendered and checked by `ntpd -n`, at the same time;
#  3. the same with --force: rendered and checked by nobody.
# Needs bash (EPOCHREALTIME) and openntpd's ntpd.
set -u
SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
. "$SRCDIR/bench/lib.sh"
bench_args 100 "$@"
need "$CFGSTORE"
need_ntpd
scratch
export CFGSTORE_DIR="$W/fw1"
# No daemon runs: 3, committed here only, is success.
TIMED_OK="0 3"

"$CFGSTORE" init --node fw1 --primary >/dev/null
"$CFGSTORE" peer add fw2 127.0.0.1:9 \
    "$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')"
{
	grep -v '^#' "$SRCDIR/tests/golden/guide.apply"
	echo "set service.ntpd.check \"ntpd -n -f {}\""
	echo "set service.dhcpd.check \"dhcpd -t -cf {}\""
} > "$W/guide.apply"
(cd "$SRCDIR/tests/golden" && timed "$CFGSTORE" apply --force --no-wait \
    "$W/guide.apply" >/dev/null) || exit 1

echo "== $N writes each, fw1 with peer fw2, --no-wait"
printf "set of a key no file reads:            "
for i in $(seq "$N"); do
	timed "$CFGSTORE" set --no-wait site.note "n$i"
done | stats; echo
printf "set changing ntpd.conf on both hosts:  "
for i in $(seq "$N"); do
	timed "$CFGSTORE" set --no-wait ntpd.servers "$((i % 4)).pool.ntp.org" \
	    "s$i.pool.ntp.org"
done | stats; echo
printf "the same with --force (no checks):     "
for i in $(seq "$N"); do
	timed "$CFGSTORE" set --force --no-wait ntpd.servers \
	    "$((i % 4)).pool.ntp.org" "f$i.pool.ntp.org"
done | stats; echo
