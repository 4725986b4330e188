/*
 * install.h - putting one file in place atomically, and taking it back.
 *
 * A file is never written where it is read: a candidate is made in the
 * destination's own directory (so rename(2) is atomic), its mode and
 * owner are set while it is still empty (a key is never readable by
 * others, not for a moment), the bytes are written and fsynced, and only
 * then is it renamed over the old file and the directory fsynced.  A
 * reader sees the complete old file or the complete new one; a render
 * killed half-way leaves at most a candidate, which install_sweep removes.
 */
#ifndef CFGSTORE_INSTALL_H
#define CFGSTORE_INSTALL_H

#include <sys/types.h>

#include <stddef.h>

#include "buf.h"
#include "error.h"

#define INSTALL_HASH_HEX	65	/* 64 hex digits and a NUL */

/* What is at a path: enough to compare, and to put it back. */
struct fstate {
	int		 exists;
	struct buf	 bytes;
	mode_t		 mode;		/* permission bits only */
	uid_t		 uid;
	gid_t		 gid;
};

/*
 * Reads what is at path now.  Nothing there is exists = 0; anything but
 * a regular file (a directory, a symbolic link) is an error.
 */
int	install_stat(const char *path, size_t max, struct fstate *st,
	    struct error *err);
/* Frees the bytes, wiping them first: they may be a key. */
void	install_stat_clear(struct fstate *st);

/*
 * Writes a candidate for path, creating missing parent directories
 * (0755).  *cand, its name, is the caller's to free; the caller also
 * renames or unlinks it.
 */
int	install_candidate(const char *path, const void *p, size_t len,
	    mode_t mode, uid_t uid, gid_t gid, char **cand,
	    struct error *err);
/*
 * Renames cand over path, then fsyncs the directory.  -1: not renamed;
 * 1: renamed (path is the new file now) but the directory fsync failed,
 * err says so; 0: both done.
 */
int	install_rename(const char *cand, const char *path,
	    struct error *err);
/*
 * Makes path what st says: its bytes, mode and owner, or no file.  -1,
 * 1 and 0 as for install_rename.
 */
int	install_restore(const char *path, const struct fstate *st,
	    struct error *err);
/* Removes the candidates a killed render left in dir. */
int	install_sweep(const char *dir, struct error *err);

/* BLAKE2b-256 of p, in hex. */
void	install_hash(const void *p, size_t len, char hex[INSTALL_HASH_HEX]);

#endif
