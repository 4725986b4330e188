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
	e->code = code;
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
