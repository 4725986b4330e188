#!/bin/sh
# CMake finds msgpack-c under its newer pkg-config name, msgpack-c (as
# msgpack-c 6 and OpenBSD's port install it), when there is no msgpack:
# the configure step below sees only a copy of this machine's msgpack.pc
# named msgpack-c.pc, and the build that follows works.
. "$(dirname "$0")/lib.sh"

step "a pkg-config directory where msgpack is msgpack-c only"
pcdir=$(pkg-config --variable=pcfiledir msgpack 2>/dev/null) || {
	echo "skip: no msgpack.pc here to rename"; exit 77; }
pc="$SCRATCH/pkgconfig"
mkdir -p "$pc"
# Every other module as it is; msgpack only as msgpack-c.
for d in $(pkg-config --variable pc_path pkg-config | tr : ' '); do
	[ -d "$d" ] || continue
	for f in "$d"/*.pc; do
		[ -e "$f" ] || continue
		case ${f##*/} in msgpack.pc|msgpack-c.pc) continue ;; esac
		[ -e "$pc/${f##*/}" ] || ln -s "$f" "$pc/${f##*/}"
	done
done
cp "$pcdir/msgpack.pc" "$pc/msgpack-c.pc"
PKG_CONFIG_LIBDIR=$pc
export PKG_CONFIG_LIBDIR
unset PKG_CONFIG_PATH
pkg-config --exists msgpack && fail "msgpack is still visible"
pkg-config --exists msgpack-c || fail "msgpack-c is not visible"
ok "msgpack-c.pc only"

step "configure and build against it"
b="$SCRATCH/build"
expect 0 cmake -S "$SRCDIR" -B "$b" -DCFGSTORE_WERROR=ON
assert_grep '^MSGPACK_MODULE_NAME:INTERNAL=msgpack-c$' "$b/CMakeCache.txt"
expect 0 cmake --build "$b" --target cfgstore -j 2
ok "built"

step "the build works"
export CFGSTORE_DIR="$SCRATCH/store"
expect 0 "$b/cli/cfgstore" init --node fw1 --primary
expect 0 "$b/cli/cfgstore" set --no-wait ntpd.servers a.example b.example
expect 0 "$b/cli/cfgstore" get ntpd.servers
assert_out 'a.example
b.example'
expect 0 "$b/cli/cfgstore" verify
ok "msgpack-c build"
