/*
 * compat.h - the small platform shims, named for what they do.
 *
 * Everything Linux-only or OpenBSD-only lives behind these names, so the
 * rest of the code is plain POSIX plus the BSD string functions.
 */
#ifndef CFGSTORE_COMPAT_H
#define CFGSTORE_COMPAT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A const pointer handed to an interface that takes a plain one but only
 * reads through it (LMDB's MDB_val, execvp's argv, a callback's argument),
 * without a cast that drops the qualifier (-Wcast-qual); NetBSD's
 * __UNCONST.
 */
#define UNCONST(p)	((void *)(uintptr_t)(const void *)(p))

#ifndef HAVE_STRLCPY
size_t	strlcpy(char *dst, const char *src, size_t size);
size_t	strlcat(char *dst, const char *src, size_t size);
#endif

/*
 * pledge(2)/unveil(2) on OpenBSD; no-ops that return 0 elsewhere.  Call
 * them once set-up is done, as OpenBSD daemons do.
 */
int	sandbox_pledge(const char *promises);
int	sandbox_unveil(const char *path, const char *permissions);

/*
 * Whether LMDB's own cross-process locks survive a process killed while
 * holding them.  Linux: robust pthread mutexes, yes.  OpenBSD: POSIX
 * semaphores, no; the store then locks with flock(2) itself (see
 * docs/STORE.md, "OpenBSD").  CFGSTORE_OWN_LOCKS=1 in the environment
 * forces the flock(2) mode anywhere, so it can be tested on Linux too.
 */
int	lmdb_locks_are_robust(void);

/*
 * MDB_WRITEMAP is needed where there is no unified buffer cache
 * (OpenBSD).  CFGSTORE_WRITEMAP=1 in the environment forces it anywhere,
 * so that mode is tested on Linux too.
 */
int	lmdb_needs_writemap(void);

/*
 * Gives fd's bytes [off, off + len) disk blocks now, extending the file
 * if need be, so that writing them later through a shared map cannot meet
 * a full disk (SIGBUS).  posix_fallocate(2) where there is one; else (as
 * on OpenBSD) the range is written with zeros, so it must hold nothing
 * yet.  Returns 0 or an errno value (ENOSPC: the disk is full).
 */
int	reserve_space(int fd, off_t off, off_t len);

#endif
