# carp-lib.sh - sourced after repl-lib.sh by the CARP demotion tests
# (e2e/t47*.sh).  The demotion commands are a real script standing in
# for ifconfig(8): it appends "NODE raise N" or "NODE lower N" to
# $CARP_LOG, and fails, saying why, while $SCRATCH/carp.fail exists.

CARP_LOG="$SCRATCH/carp.log"
: > "$CARP_LOG"
cat > "$SCRATCH/carp" <<EOS
#!/bin/sh
if [ -e "$SCRATCH/carp.fail" ]; then
	echo "ifconfig: SIOCSIFGATTR: Device busy"
	exit 1
fi
echo "\$NODE \$1 \$2" >> "$CARP_LOG"
EOS
chmod +x "$SCRATCH/carp"

# carp_keys PRIMARY: the demotion commands, set on PRIMARY for every node.
carp_keys() {
	on "$1" set --no-wait carp.demote.raise "$SCRATCH/carp raise 50" \
	    >/dev/null &&
	on "$1" set --no-wait carp.demote.lower "$SCRATCH/carp lower 50" \
	    >/dev/null || fail "carp keys on $1"
}

# carp_in_step [BATCH]: fw1 (primary; sending catch-ups in batches of
# BATCH commits, if given) and fw2, in step, the demotion commands set;
# r is their head.
carp_in_step() {
	node_init fw1 --primary
	node_init fw2
	pair fw1 fw2
	start fw1 ${1:+env CFGSTORE_TEST_BATCH="$1"}
	start fw2
	guide fw1 || { cat "$SCRATCH/out"; fail "guide"; }
	carp_keys fw1
	r=$(head_of fw1)
	wait_head fw2 "$r"
	wait_for acked fw1 fw2 "$r" || fail "fw1 did not see the acknowledgement"
}

# demoted_for_service NODE: NODE raises the demotion for a failed
# service, and its status says degraded, service and demoted.
demoted_for_service() {
	wait_for grep -q "^$1 raise 50$" "$CARP_LOG" || fail "$1 not raised"
	wait_for has_reason "$1" demoted || fail "status does not say demoted"
	health "$1" 4 service demoted
}

# carp_lines NODE: what NODE ran, in order, on one line ("raise 50,lower 50").
carp_lines() {
	grep "^$1 " "$CARP_LOG" | cut -d' ' -f2- | tr '\n' ',' | sed 's/,$//'
}

# has_reason NODE REASON: NODE's status lists REASON now.
has_reason() {
	on "$1" status --json 2>/dev/null | python3 -c '
import json, sys
sys.exit(0 if sys.argv[1] in [r["reason"] for r in json.load(sys.stdin)["reasons"]] else 1)' "$2"
}

# carp_count NODE WHAT: how many times NODE ran WHAT (raise, lower).
carp_count() { grep -c "^$1 $2 " "$CARP_LOG"; }

# carp_paired NODE: NODE's lines go raise, lower, raise, lower...: never
# raised twice, and lowered as often as raised.
carp_paired() {
	grep "^$1 " "$CARP_LOG" | awk '{ print $2 }' | paste -sd' ' |
	    grep -Eq '^(raise lower ?)*$' || { cat "$CARP_LOG"; fail "$1: not paired"; }
}

lacks_reason() { ! has_reason "$@"; }

# reasons_are NODE [REASON...]: NODE's status lists exactly these now.
reasons_are() {
	rn=$1; shift
	on "$rn" status --json 2>/dev/null | python3 -c '
import json, sys
got = set(r["reason"] for r in json.load(sys.stdin)["reasons"])
sys.exit(0 if got == set(sys.argv[1:]) else 1)' "$@"
}

# health NODE WANT [REASON...]: status exits WANT (0 healthy, 4 degraded),
# its --json says so and lists exactly the REASONs given.
health() {
	hn=$1 want=$2; shift 2
	# A command's line is written a moment before its record, and a
	# retried raise is recorded a moment before it runs: what is asserted
	# is the state the node settles in, within 10 s.
	wait_for reasons_are "$hn" "$@"
	expect "$want" on "$hn" status --json
	python3 - "$SCRATCH/out" "$want" "$@" <<'PY' || { out; fail "$hn: status --json"; }
import json, sys
s = json.load(open(sys.argv[1]))
want, reasons = int(sys.argv[2]), sorted(sys.argv[3:])
got = sorted(set(r["reason"] for r in s["reasons"]))
assert s["healthy"] is (want == 0), s["healthy"]
assert got == reasons, (got, reasons)
assert all(r["text"] for r in s["reasons"]), s["reasons"]
PY
	expect "$want" on "$hn" status
	if [ "$want" = 0 ]; then
		assert_grep "^health: +ok$" "$SCRATCH/out"
	else
		assert_grep "^health: +degraded$" "$SCRATCH/out"
		for reason in "$@"; do
			assert_grep "^  $reason " "$SCRATCH/out"
		done
	fi
}
