/*
 * install.c - atomic file installation (see install.h for the sequence).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "compat.h"
#include "install.h"

/* Candidates are ".NAME.cfgstore-new.XXXXXX": hidden, and recognisable. */
#define CANDIDATE_TAG	".cfgstore-new."

/* dirname(3) may modify its argument or use static storage: not here. */
static int
split_dir(const char *path, char *dir, size_t len, const char **base)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return -1;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= len)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	*base = slash + 1;
	return 0;
}

static int
fsync_dir(const char *dir, struct error *err)
{
	int fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return error_errno(err, ERR_FAIL, "open %s", dir);
	rc = fsync(fd);
	close(fd);
	if (rc == -1)
		return error_errno(err, ERR_FAIL, "fsync %s", dir);
	return 0;
}

/* mkdir -p: --root may name a directory that does not exist yet. */
static int
make_dirs(const char *dir, struct error *err)
{
	char path[PATH_MAX], c;
	struct stat sb;
	char *p;

	if (strlcpy(path, dir, sizeof(path)) >= sizeof(path))
		return error_set(err, ERR_INPUT, "path too long: %s", dir);
	for (p = path + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			return error_errno(err, ERR_FAIL, "mkdir %s", path);
		if (c == '\0')
			break;
		*p = c;
	}
	if (stat(dir, &sb) == -1)
		return error_errno(err, ERR_FAIL, "%s", dir);
	if (!S_ISDIR(sb.st_mode))
		return error_set(err, ERR_FAIL, "%s is not a directory", dir);
	return 0;
}

int
install_stat(const char *path, size_t max, struct fstate *st,
    struct error *err)
{
	struct stat sb;

	memset(st, 0, sizeof(*st));
	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return error_errno(err, ERR_FAIL, "%s", path);
	}
	if (!S_ISREG(sb.st_mode))
		return error_set(err, ERR_FAIL, "%s is not a regular file",
		    path);
	if (buf_read_file(&st->bytes, path, max) == -1) {
		if (errno == EFBIG)
			return error_set(err, ERR_FAIL, "%s is larger than %zu "
			    "bytes", path, max);
		return error_errno(err, ERR_FAIL, "read %s", path);
	}
	st->exists = 1;
	st->mode = sb.st_mode & 07777;
	st->uid = sb.st_uid;
	st->gid = sb.st_gid;
	return 0;
}

void
install_stat_clear(struct fstate *st)
{
	buf_free_secret(&st->bytes);
	memset(st, 0, sizeof(*st));
}

static int
write_all(int fd, const void *p, size_t len)
{
	const char *c = p;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, c, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Writing the new bytes for path failed: say so of path, which the
 * admin knows, not of the candidate, which is removed; a full disk in
 * plain words.
 */
static void
write_error(struct error *err, const char *path)
{
	if (errno == ENOSPC || errno == EDQUOT)
		error_set(err, ERR_FAIL, "cannot write %s: the disk is full "
		    "(%s); the old file is kept", path, strerror(errno));
	else
		error_errno(err, ERR_FAIL, "cannot write %s (the old file is "
		    "kept)", path);
}

int
install_candidate(const char *path, const void *p, size_t len, mode_t mode,
    uid_t uid, gid_t gid, char **cand, struct error *err)
{
	char dir[PATH_MAX], *name = NULL;
	const char *base;
	int fd = -1;

	*cand = NULL;
	if (split_dir(path, dir, sizeof(dir), &base) == -1 || *base == '\0')
		return error_set(err, ERR_INPUT, "bad path '%s'", path);
	if (make_dirs(dir, err) == -1)
		return -1;
	if (asprintf(&name, "%s/.%s%sXXXXXX", strcmp(dir, "/") ? dir : "",
	    base, CANDIDATE_TAG) == -1) {
		name = NULL;
		return error_set(err, ERR_FAIL, "out of memory");
	}
	/*
	 * mkostemp creates it 0600: nobody else may read it, even empty.
	 * Close-on-exec: the daemon's other threads run checkers.
	 */
	if ((fd = mkostemp(name, O_CLOEXEC)) == -1) {
		error_errno(err, ERR_FAIL, "create candidate for %s", path);
		goto fail_nounlink;
	}
	/* chown first: it may clear set-id bits that fchmod then sets. */
	if (fchown(fd, uid, gid) == -1) {
		error_errno(err, ERR_FAIL, "chown %s to %ld:%ld", path,
		    (long)uid, (long)gid);
		goto fail;
	}
	if (fchmod(fd, mode) == -1) {
		error_errno(err, ERR_FAIL, "chmod %s", path);
		goto fail;
	}
	if (write_all(fd, p, len) == -1 || fsync(fd) == -1) {
		write_error(err, path);
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		write_error(err, path);
		goto fail;
	}
	*cand = name;
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(name);
fail_nounlink:
	free(name);
	return -1;
}

int
install_rename(const char *cand, const char *path, struct error *err)
{
	char dir[PATH_MAX];
	const char *base;

	if (split_dir(path, dir, sizeof(dir), &base) == -1)
		return error_set(err, ERR_INPUT, "bad path '%s'", path);
	if (rename(cand, path) == -1)
		return error_errno(err, ERR_FAIL, "rename to %s", path);
	/* In place whatever fsync says: the caller must know it is. */
	return fsync_dir(dir, err) == -1 ? 1 : 0;
}

int
install_restore(const char *path, const struct fstate *st,
    struct error *err)
{
	char dir[PATH_MAX], *cand;
	const char *base;
	int rc;

	if (st->exists) {
		if (install_candidate(path, st->bytes.data, st->bytes.len,
		    st->mode, st->uid, st->gid, &cand, err) == -1)
			return -1;
		rc = install_rename(cand, path, err);
		if (rc == -1)
			unlink(cand);
		free(cand);
		return rc;
	}
	if (split_dir(path, dir, sizeof(dir), &base) == -1)
		return error_set(err, ERR_INPUT, "bad path '%s'", path);
	if (unlink(path) == -1 && errno != ENOENT)
		return error_errno(err, ERR_FAIL, "unlink %s", path);
	return fsync_dir(dir, err) == -1 ? 1 : 0;
}

int
install_sweep(const char *dir, struct error *err)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;

	if ((d = opendir(dir)) == NULL) {
		if (errno == ENOENT)
			return 0;
		return error_errno(err, ERR_FAIL, "opendir %s", dir);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' ||
		    strstr(de->d_name, CANDIDATE_TAG) == NULL)
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir,
		    de->d_name) >= sizeof(path))
			continue;
		if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			unlink(path);
	}
	closedir(d);
	return 0;
}

void
install_hash(const void *p, size_t len, char hex[INSTALL_HASH_HEX])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), p, len, NULL, 0);
	sodium_bin2hex(hex, INSTALL_HASH_HEX, h, sizeof(h));
}
