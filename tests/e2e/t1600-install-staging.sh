#!/bin/sh
# `cmake --install` into a staging directory puts exactly the files below
# there; the installed man page is clean under mandoc -Tlint; the OpenBSD
# rc.d script parses (sh -n) and says what rc.subr(8) needs; the systemd
# unit passes `systemd-analyze verify`.
. "$(dirname "$0")/lib.sh"

step "cmake --install into a staging directory"
stage="$SCRATCH/stage"
expect 0 env DESTDIR="$stage" cmake --install "$BUILDDIR" --prefix /usr/local
(cd "$stage" && find . ! -type d | sort) > "$SCRATCH/got"
case $(uname -s) in
Linux)	unit=./usr/local/lib/systemd/system/cfgstore.service ;;
*)	unit= ;;
esac
printf '%s\n' ./usr/local/sbin/cfgstore ./usr/local/share/man/man8/cfgstore.8 \
    $unit | sort > "$SCRATCH/want"
cmp -s "$SCRATCH/got" "$SCRATCH/want" || {
	diff -u "$SCRATCH/want" "$SCRATCH/got"; fail "installed files differ"; }
[ -x "$stage/usr/local/sbin/cfgstore" ] || fail "cfgstore is not executable"
expect 0 "$stage/usr/local/sbin/cfgstore" help
ok "exactly the listed files"

step "the installed man page passes mandoc -Tlint"
mandoc -Tlint "$stage/usr/local/share/man/man8/cfgstore.8" > "$SCRATCH/lint" 2>&1
# Cross-references to pages this machine lacks are not the page's fault.
grep -v 'mandoc.db\|lacks .* entry\|referenced manual not found' "$SCRATCH/lint" > "$SCRATCH/lint.real" || true
[ ! -s "$SCRATCH/lint.real" ] || { cat "$SCRATCH/lint.real"; fail "mandoc -Tlint complains"; }
ok "man page"

step "the rc.d script"
# As CMake makes it for OpenBSD, with the default prefix.
rc="$SCRATCH/cfgstore.rc"
sed 's|@CMAKE_INSTALL_FULL_SBINDIR@|/usr/local/sbin|' \
    "$SRCDIR/dist/openbsd/cfgstore.rc.in" > "$rc"
sh -n "$rc" || fail "sh -n refuses the rc.d script"
# It starts `cfgstore serve` with the flags rcctl keeps, and looks for
# the same command line.
for line in 'daemon="/usr/local/sbin/cfgstore"' '. /etc/rc.d/rc.subr' \
    'pexp="${daemon} serve${daemon_flags:+ ${daemon_flags}}"' \
    '	rc_exec "${daemon} serve ${daemon_flags}"' 'rc_cmd $1'; do
	grep -qxF -- "$line" "$rc" || { cat "$rc"; fail "no line [$line]"; }
done
ok "rc.d script"

step "the systemd unit passes systemd-analyze verify"
command -v systemd-analyze >/dev/null 2>&1 || {
	echo "skip: systemd-analyze is not installed"; exit 77; }
# Whether it can run here at all: a unit that cannot be wrong.
printf '[Service]\nExecStart=/bin/true\n' > "$SCRATCH/probe.service"
if ! systemd-analyze verify "$SCRATCH/probe.service" > "$SCRATCH/probe" 2>&1; then
	echo "skip: systemd-analyze cannot verify units here:"
	cat "$SCRATCH/probe"
	exit 77
fi
# The unit names the installed program: configure a tree whose prefix
# holds it, so verify finds what ExecStart runs.
prefix="$SCRATCH/prefix"
mkdir -p "$prefix/sbin"
cp "$BUILDDIR/cli/cfgstore" "$prefix/sbin/cfgstore"
expect 0 cmake -S "$SRCDIR" -B "$SCRATCH/conf" -DCMAKE_INSTALL_PREFIX="$prefix"
u="$SCRATCH/conf/dist/cfgstore.service"
assert_grep "^ExecStart=$prefix/sbin/cfgstore serve -f\$" "$u"
# Documentation=man:cfgstore(8) is not installed on this machine.
systemd-analyze verify --man=no "$u" > "$SCRATCH/verify" 2>&1 || {
	cat "$SCRATCH/verify"; fail "systemd-analyze verify refuses the unit"; }
[ ! -s "$SCRATCH/verify" ] || { cat "$SCRATCH/verify"; fail "systemd-analyze verify warns"; }
# The files a render writes stay writable.
for d in /etc /var/nsd /var/unbound /var/db; do
	grep -q "^ReadWritePaths=.*$d\( \|\$\)" "$u" || fail "$d is not writable"
done
ok "systemd unit"
