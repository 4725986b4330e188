/*
 * compat_priv.h - giving up root for good: chroot(2), then the groups,
 * the group and the user of an unprivileged account, real, effective and
 * saved alike (setresgid(2)/setresuid(2), on Linux and OpenBSD).
 */
#ifndef CFGSTORE_COMPAT_PRIV_H
#define CFGSTORE_COMPAT_PRIV_H

#include "error.h"

/* The account the daemon's network process runs as by default. */
#ifdef __OpenBSD__
#define PRIV_USER_DEFAULT	"_cfgstore"
#else
#define PRIV_USER_DEFAULT	"nobody"
#endif

/*
 * Looks user up, chroots to dir (which must exist and be owned by root)
 * and changes to its "/", then becomes user, and checks that root cannot
 * be had back.  Must be called as root.  0, or -1 and err: the caller
 * must then not go on.
 */
int	priv_drop(const char *user, const char *dir, struct error *err);

#endif
