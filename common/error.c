#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

int
error_set(struct error *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return -1;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int
error_errno(struct error *e, int code, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	size_t n;

	if (e == NULL)
		return -1;
	e->code = saved == ENOSPC || saved == EDQUOT ? ERR_DISKFULL : code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(saved));
	errno = saved;
	return -1;
}

int
error_wrap(struct error *e, const char *fmt, ...)
{
	char prefix[ERROR_MSG_MAX / 2], old[ERROR_MSG_MAX];
	va_list ap;

	if (e == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* Keep the cause whole: it is the part that says why. */
	snprintf(e->msg, sizeof(e->msg), "%.*s: %.*s",
	    (int)(sizeof(prefix) - 1), prefix,
	    (int)(sizeof(e->msg) - sizeof(prefix) - 2), old);
	if (e->code == ERR_OK)
		e->code = ERR_FAIL;
	return -1;
}

void
error_clear(struct error *e)
{
	if (e == NULL)
		return;
	e->code = ERR_OK;
	e->msg[0] = '\0';
}

const char *
error_string(int code)
{
	static const char *const own[] = {
		[ERR_NOTFOUND - ERR_FIRST] = "not found",
		[ERR_NOREV - ERR_FIRST] = "no such revision",
		[ERR_EXISTS - ERR_FIRST] = "a store exists already",
		[ERR_NOSTORE - ERR_FIRST] = "store not initialised",
		[ERR_NOTPRIMARY - ERR_FIRST] = "not the primary",
		[ERR_NODAEMON - ERR_FIRST] = "daemon not running",
		[ERR_DISKFULL - ERR_FIRST] = "disk full",
		[ERR_BADKEY - ERR_FIRST] = "invalid key",
		[ERR_BADHOST - ERR_FIRST] = "unknown host",
		[ERR_BADVALUE - ERR_FIRST] = "invalid value",
		[ERR_SCHEMA - ERR_FIRST] = "refused by the schema",
		[ERR_CHECK - ERR_FIRST] = "refused by a service's check",
		[ERR_MALFORMED - ERR_FIRST] = "malformed input",
		[ERR_UNTRUSTED - ERR_FIRST] = "untrusted signer",
		[ERR_BADSIG - ERR_FIRST] = "bad signature",
		[ERR_DIVERGED - ERR_FIRST] = "diverged history",
		[ERR_GAP - ERR_FIRST] = "commits missing before this one",
		[ERR_TIMEOUT - ERR_FIRST] = "timed out",
		[ERR_CORRUPT - ERR_FIRST] = "store corrupt",
		[ERR_STALE - ERR_FIRST] = "head moved since the check",
		[ERR_NOCONFIRM - ERR_FIRST] = "nothing to confirm",
		[ERR_DEGRADED - ERR_FIRST] = "degraded",
		[ERR_FENCED - ERR_FIRST] = "fenced: a newer primary exists",
		[ERR_EPOCH - ERR_FIRST] = "epoch does not grow",
	};

	switch (code) {
	case ERR_OK:
		return "success";
	case ERR_FAIL:
		return "failed";
	case ERR_INPUT:
		return "bad usage or input";
	case ERR_PENDING:
		return "not yet applied on every peer";
	}
	if (code >= ERR_FIRST && code <= ERR_LAST && own[code - ERR_FIRST])
		return own[code - ERR_FIRST];
	return "unknown error code";
}
