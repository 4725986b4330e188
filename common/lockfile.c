/*
 * lockfile.c - flock(2) on a file of our own.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "lockfile.h"

int
lockfile_take(const char *path, int excl, struct error *err)
{
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return error_errno(err, ERR_FAIL, "open %s", path);
	while (flock(fd, excl ? LOCK_EX : LOCK_SH) == -1) {
		if (errno != EINTR) {
			error_errno(err, ERR_FAIL, "lock %s", path);
			close(fd);
			return -1;
		}
	}
	return fd;
}
