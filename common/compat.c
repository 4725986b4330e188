#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compat.h"

#ifndef HAVE_STRLCPY
size_t
strlcpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size > 0) {
		size_t c = n >= size ? size - 1 : n;
		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return n;
}

size_t
strlcat(char *dst, const char *src, size_t size)
{
	size_t d = strnlen(dst, size);

	if (d == size)
		return size + strlen(src);
	return d + strlcpy(dst + d, src, size - d);
}
#endif

int
sandbox_pledge(const char *promises)
{
#ifdef __OpenBSD__
	return pledge(promises, NULL);
#else
	(void)promises;
	return 0;
#endif
}

int
sandbox_unveil(const char *path, const char *permissions)
{
#ifdef __OpenBSD__
	return unveil(path, permissions);
#else
	(void)path;
	(void)permissions;
	return 0;
#endif
}

int
lmdb_locks_are_robust(void)
{
	const char *force = getenv("CFGSTORE_OWN_LOCKS");

	if (force != NULL && strcmp(force, "1") == 0)
		return 0;
#ifdef __OpenBSD__
	return 0;
#else
	return 1;
#endif
}

int
lmdb_needs_writemap(void)
{
	const char *force = getenv("CFGSTORE_WRITEMAP");

	if (force != NULL && strcmp(force, "1") == 0)
		return 1;
#ifdef __OpenBSD__
	return 1;
#else
	return 0;
#endif
}

/* Writes zeros over [off, off + len): the range holds nothing yet. */
static int
reserve_by_writing(int fd, off_t off, off_t len)
{
	static const char zeros[65536];

	while (len > 0) {
		size_t n = len < (off_t)sizeof(zeros) ? (size_t)len :
		    sizeof(zeros);
		ssize_t w = pwrite(fd, zeros, n, off);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1)
			return errno;
		if (w == 0)
			return ENOSPC;
		off += w;
		len -= w;
	}
	return 0;
}

int
reserve_space(int fd, off_t off, off_t len)
{
#ifdef __OpenBSD__
	return reserve_by_writing(fd, off, len);
#else
	int rc;

	if (len <= 0)
		return 0;
	while ((rc = posix_fallocate(fd, off, len)) == EINTR)
		;
	/* A file system without fallocate: the portable way. */
	if (rc == EOPNOTSUPP || rc == EINVAL)
		rc = reserve_by_writing(fd, off, len);
	return rc;
#endif
}
