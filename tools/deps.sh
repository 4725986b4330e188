#!/bin/sh
# deps.sh - installs what building, testing and the demo need, if missing.
# Sourced by demo.sh and test.sh; safe to run again (installs nothing new).
#
# The service packages are installed for their checkers (unbound-checkconf,
# nsd-checkconf, ntpd -n, dhcpd -t); their daemons are not started.

CFGSTORE_PACKAGES="build-essential cmake pkg-config liblmdb-dev lmdb-utils
libsodium-dev libmsgpack-dev libjansson-dev python3 iproute2 procps
unbound nsd openntpd isc-dhcp-server tcpdump rsync openssh-server
openssh-client mandoc systemd"

cfgstore_missing_packages() {
	for p in $CFGSTORE_PACKAGES; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q '^install ok installed$' || printf '%s ' "$p"
	done
}

cfgstore_install_deps() {
	missing=$(cfgstore_missing_packages)
	[ -n "$missing" ] || return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages: $missing (run as root to install them)" >&2
		return 1
	fi
	echo "installing: $missing"
	# Keep the services' daemons from starting on install.
	own_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		own_policy=1
	fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $missing >/dev/null
	rc=$?
	[ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
	return $rc
}
