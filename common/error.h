/*
 * error.h - one way to return an error from library code.
 *
 * Library functions never print and never exit.  They fill a caller-owned
 * struct error and return -1, so call sites read like
 *
 *	if (thing_fails())
 *		return error_set(err, ERR_BADKEY, "bad key '%s'", key);
 *
 * The code says what went wrong, so callers decide by the code, never by
 * the message text.  ERR_FAIL, ERR_INPUT and ERR_PENDING are the generic
 * codes (equal to the exit statuses 1, 2 and 3); the specific ones live in
 * a range of their own, as LMDB's MDB_* codes do, and error_string names
 * each.  The command line maps every code onto its exit status with one
 * table (cli/exit.c).
 */
#ifndef CFGSTORE_ERROR_H
#define CFGSTORE_ERROR_H

#include <stddef.h>

enum error_code {
	ERR_OK = 0,
	ERR_FAIL = 1,		/* failed, nothing more specific to say */
	ERR_INPUT = 2,		/* bad usage or bad input; nothing was written */
	ERR_PENDING = 3,	/* durable here, not yet applied on every peer */

	/* cfgstore's own codes: ERR_FIRST to ERR_LAST, none reused. */
	ERR_FIRST = 1000,
	ERR_NOTFOUND = ERR_FIRST, /* no such key, peer or record */
	ERR_NOREV,		/* no such revision */
	ERR_EXISTS,		/* a store exists already */
	ERR_NOSTORE,		/* no store there */
	ERR_NOTPRIMARY,		/* a write on a replica */
	ERR_NODAEMON,		/* the daemon is not running */
	ERR_DISKFULL,		/* no space left on the store's disk */
	ERR_BADKEY,		/* a key, prefix or node name that is not one */
	ERR_BADHOST,		/* an override or --host for an unknown host */
	ERR_BADVALUE,		/* a value that is not one (or too large) */
	ERR_SCHEMA,		/* a value the schema refuses, a bad schema */
	ERR_CHECK,		/* a service's checker refused a file */
	ERR_MALFORMED,		/* bytes from outside that do not parse */
	ERR_UNTRUSTED,		/* signed by a key this node does not trust */
	ERR_BADSIG,		/* a signature that does not verify */
	ERR_DIVERGED,		/* a commit that does not extend this history */
	ERR_GAP,		/* a commit beyond the head + 1: some are missing */
	ERR_TIMEOUT,		/* a peer or the daemon did not answer in time */
	ERR_CORRUPT,		/* the store disagrees with its own history */
	ERR_STALE,		/* the head moved since the change was checked */
	ERR_NOCONFIRM,		/* `confirm` with no confirmed commit waiting */
	ERR_DEGRADED,		/* `status`: this node is not healthy */
	ERR_FENCED,		/* a primary of an older epoch: writes refused */
	ERR_EPOCH,		/* a promote whose epoch does not grow */
	ERR_LAST = ERR_EPOCH
};

#define ERROR_MSG_MAX 512

struct error {
	int	code;
	char	msg[ERROR_MSG_MAX];
};

/* Sets *e (which may be NULL) and returns -1. */
int	error_set(struct error *e, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/*
 * Like error_set, with ": strerror(errno)" appended.  ENOSPC and EDQUOT
 * become ERR_DISKFULL whatever code is given: a full disk is always one.
 */
int	error_errno(struct error *e, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message with "what: " (context on the way up). */
int	error_wrap(struct error *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

void	error_clear(struct error *e);

/*
 * What a code means, in a few words ("no such revision"); a static string,
 * also for codes out of range.  As mdb_strerror and strerror do.
 */
const char *error_string(int code);

#endif
