/*
 * compat_priv.c - dropping root for good (compat_priv.h).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "compat_priv.h"

int
priv_drop(const char *user, const char *dir, struct error *err)
{
	struct passwd *pw;
	struct stat st;
	uid_t uid;
	gid_t gid;

	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		return error_set(err, ERR_FAIL, "no user %s%s", user,
		    errno != 0 ? " (cannot read the user database)" : "");
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0)
		return error_set(err, ERR_FAIL, "user %s is root", user);
	/* A directory others could write would let them plant files. */
	if (stat(dir, &st) == -1)
		return error_errno(err, ERR_FAIL, "%s", dir);
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return error_set(err, ERR_FAIL, "%s: must be a directory of "
		    "root's that no one else may write", dir);
	if (chroot(dir) == -1 || chdir("/") == -1)
		return error_errno(err, ERR_FAIL, "chroot %s", dir);
	if (setgroups(1, &gid) == -1 ||
	    setresgid(gid, gid, gid) == -1 ||
	    setresuid(uid, uid, uid) == -1)
		return error_errno(err, ERR_FAIL, "becoming %s", user);
	if (setuid(0) != -1 || geteuid() == 0 || getegid() != gid)
		return error_set(err, ERR_FAIL, "still root after becoming %s",
		    user);
	return 0;
}
