/*
 * error.h - one way to return an error from library code.
 *
 * Library functions never print and never exit.  They fill a caller-owned
 * struct error and return -1, so call sites read like
 *
 *	if (thing_fails())
 *		return error_set(err, ERR_INPUT, "bad key '%s'", key);
 *
 * The code maps one to one onto the command line's exit statuses.
 */
#ifndef CFGSTORE_ERROR_H
#define CFGSTORE_ERROR_H

#include <stddef.h>

enum error_code {
	ERR_OK = 0,
	ERR_FAIL = 1,		/* failed, including "not found" */
	ERR_INPUT = 2,		/* bad usage or bad input; nothing was written */
	ERR_PENDING = 3,	/* durable here, not yet applied on every peer */
};

#define ERROR_MSG_MAX 512

struct error {
	int	code;
	char	msg[ERROR_MSG_MAX];
};

/* Sets *e (which may be NULL) and returns -1. */
int	error_set(struct error *e, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Like error_set, with ": strerror(errno)" appended. */
int	error_errno(struct error *e, int code, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Prefixes an existing message with "what: " (context on the way up). */
int	error_wrap(struct error *e, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

void	error_clear(struct error *e);

#endif
