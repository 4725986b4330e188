# netns-lib.sh - sourced after lib.sh and repl-lib.sh by the tests that
# put nodes on two sides of a link: two network namespaces, $NSA and
# $NSB, joined by a veth pair ($VA in A, $VB in B: the sync link),
# removed at exit.  netns_up makes them, or exits 77 (skip) without root
# or ip(8); nodes in A listen on ${NET}1, in B on ${NET}2.  link_cut and
# link_back cut the link and mend it.

netns_up() {
	if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
		echo "SKIP: network namespaces need root and ip(8)"
		exit 77
	fi
	NSA=cfgA$$
	NSB=cfgB$$
	VA=cfa$$
	VB=cfb$$
	NET=10.$(($$ % 200 + 20)).$(($$ / 200 % 250)).
	trap 'cleanup; netns_cleanup' EXIT
	ip netns add "$NSA" && ip netns add "$NSB" || fail "ip netns add"
	ip link add "$VA" type veth peer name "$VB" || fail "ip link add veth"
	ip link set "$VA" netns "$NSA" && ip link set "$VB" netns "$NSB" ||
	    fail "move veth"
	ip -n "$NSA" addr add "${NET}1/24" dev "$VA"
	ip -n "$NSB" addr add "${NET}2/24" dev "$VB"
	for ns in "$NSA" "$NSB"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$NSA" link set "$VA" up
	ip -n "$NSB" link set "$VB" up
}

netns_cleanup() {
	ip netns del "$NSA" 2>/dev/null
	ip netns del "$NSB" 2>/dev/null
}

# ns_init NAME A|B [--primary]: a store listening in namespace A or B.
ns_init() {
	name=$1; side=$2; shift 2
	case $side in A) host=${NET}1 ;; *) host=${NET}2 ;; esac
	echo "$side" > "$SCRATCH/side.$name"
	LISTEN_HOST=$host node_init "$name" "$@"
}

# The address of a node started by ns_init (repl-lib.sh's, per side).
addr() {
	case $(cat "$SCRATCH/side.$1") in A) h=${NET}1 ;; *) h=${NET}2 ;; esac
	echo "$h:$(cat "$SCRATCH/$1/port")"
}

# ns_start NAME [PREFIX...]: its daemon in its namespace, run by PREFIX
# (env PATH=..., say) there.
ns_start() {
	name=$1; shift
	case $(cat "$SCRATCH/side.$name") in
	A) start "$name" ip netns exec "$NSA" "$@" ;;
	*) start "$name" ip netns exec "$NSB" "$@" ;;
	esac
}

# ns_pair [PREFIX...]: fw1 (primary) in A and fw2 in B, each trusting the
# other, both running; fw2's daemon run by PREFIX.
ns_pair() {
	ns_init fw1 A --primary
	ns_init fw2 B
	pair fw1 fw2
	ns_start fw1
	ns_start fw2 "$@"
}

link_cut() { ip -n "$NSA" link set "$VA" down; }
link_back() { ip -n "$NSA" link set "$VA" up; }
