/*
 * run.h - child processes, through one small API (never system(3)).
 *
 * Check and restart commands are admin-written shell command lines, so
 * they run as `/bin/sh -c CMD` in a process group of their own, with
 * stdin on /dev/null and stdout and stderr captured together.  A command
 * still running at its deadline is killed with its whole process group.
 */
#ifndef CFGSTORE_RUN_H
#define CFGSTORE_RUN_H

#include "buf.h"
#include "error.h"

#define RUN_OUTPUT_MAX	(64 * 1024)	/* captured output beyond this is dropped */

struct run_result {
	int		exited;		/* 1: exited normally, status is its code */
	int		status;		/* exit code, or the signal number */
	int		timed_out;	/* killed at the deadline */
	struct buf	output;		/* stdout and stderr, interleaved */
};

/*
 * Runs cmd through /bin/sh, waiting at most timeout_ms, with an empty
 * signal mask and the usual signals at their default.  Returns 0 when the
 * command could be run (whatever its result: look at *res), -1 with err set
 * when it could not be started or how it ended cannot be known (waitpid
 * failed).  res->output is the caller's to free with
 * run_result_free, on every path.
 */
int	run_shell(const char *cmd, int timeout_ms, struct run_result *res,
	    struct error *err);

/* 1 when the command ran, exited 0 and did not time out. */
int	run_ok(const struct run_result *res);

/* One line describing how the command ended, e.g. "exit 1", "timed out". */
const char *run_describe(const struct run_result *res, char *buf, size_t len);

void	run_result_free(struct run_result *res);

/*
 * Returns a copy of cmd with every "{}" replaced by path, shell-quoted.
 * NULL on ENOMEM.  The caller frees it.
 */
char	*run_subst_path(const char *cmd, const char *path);

#endif
