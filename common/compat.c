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
