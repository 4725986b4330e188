/*
 * sandbox.c - what the daemon may still see and do once it is set up:
 * unveil(2) and pledge(2) on OpenBSD, through the no-op shims elsewhere.
 *
 * It writes only the store and the rendered files, reads the user and
 * group databases (the owners of rendered files), and runs the checks and
 * restarts the store names, which are shell commands: so the shell and
 * the usual program directories may be executed.
 */
#include <errno.h>
#include <stdio.h>

#include "compat.h"
#include "repl_int.h"

static const struct {
	const char	*path;
	const char	*perm;
} fixed[] = {
	{ "/bin/sh",		"rx" },
	{ "/bin",		"rx" },
	{ "/sbin",		"rx" },
	{ "/usr/bin",		"rx" },
	{ "/usr/sbin",		"rx" },
	{ "/usr/local/bin",	"rx" },
	{ "/usr/local/sbin",	"rx" },
	{ "/usr/libexec",	"rx" },		/* ld.so and friends */
	{ "/usr/lib",		"r" },
	{ "/usr/local/lib",	"r" },
	{ "/etc",		"r" },		/* passwd, group, rc.d */
	{ "/dev/null",		"rw" },		/* children's stdin */
};

int
repl_sandbox(const char *dir, const char *root, struct error *err)
{
	size_t i;

	if (sandbox_unveil(dir, "rwc") == -1)
		return error_errno(err, ERR_FAIL, "unveil %s", dir);
	if (sandbox_unveil(root != NULL ? root : "/", "rwc") == -1)
		return error_errno(err, ERR_FAIL, "unveil %s",
		    root != NULL ? root : "/");
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (sandbox_unveil(fixed[i].path, fixed[i].perm) == -1 &&
		    errno != ENOENT)
			return error_errno(err, ERR_FAIL, "unveil %s",
			    fixed[i].path);
	if (sandbox_unveil(NULL, NULL) == -1)
		return error_errno(err, ERR_FAIL, "unveil");
	if (sandbox_pledge("stdio rpath wpath cpath fattr flock inet unix dns "
	    "getpw proc exec chown") == -1)
		return error_errno(err, ERR_FAIL, "pledge");
	return 0;
}
