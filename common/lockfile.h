/*
 * lockfile.h - flock(2) on a file of our own, which the kernel drops when
 * the holder dies, so a killed process never leaves a lock behind.
 */
#ifndef CFGSTORE_LOCKFILE_H
#define CFGSTORE_LOCKFILE_H

#include "error.h"

/*
 * Opens path (created 0600, close-on-exec) and waits for a shared or,
 * with excl, an exclusive lock on it.  The descriptor, which holds the
 * lock until closed, or -1 with err.
 */
int	lockfile_take(const char *path, int excl, struct error *err);

#endif
