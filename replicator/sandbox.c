/*
 * sandbox.c - what the daemon's parent process may still do once it is
 * set up: pledge(2) on OpenBSD, through the no-op shim elsewhere.
 *
 * It is not unveiled at all.  It writes the files the manifest names,
 * and the manifest, being data in the store, names other paths after any
 * commit (/etc/ntpd.conf today, /etc/hostname.carp2 tomorrow); unveil(2)
 * is fixed once set, and the restart commands it runs are shell commands
 * that may read and write anything.  An unveil that allowed all that
 * would be "/" read-write-create, which protects nothing, and any
 * narrower one breaks the daemon at the next manifest.  What unveil
 * would give here the network process gets instead by its chroot; this
 * process never parses what comes from the network before the link has
 * authenticated it.
 *
 * The promises: stdio rpath wpath cpath fattr chown flock for the store
 * and the rendered files (owners and modes included), getpw for owners
 * by name, unix for the control socket, dns to make peers' addresses
 * numeric for the network process, proc exec for it and for the checks
 * and restarts.
 */
#include "compat.h"
#include "repl_int.h"

int
repl_sandbox(struct error *err)
{
	if (sandbox_pledge("stdio rpath wpath cpath fattr chown flock getpw "
	    "unix dns proc exec") == -1)
		return error_errno(err, ERR_FAIL, "pledge");
	return 0;
}
