/*
 * exit.c - the one table from error codes to exit statuses.
 *
 * 0 success, 1 failure (including "not found"), 2 bad usage or bad input
 * (nothing was written), 3 committed here but not yet applied on every
 * peer, 4 `status` found the node degraded, 5 nothing to confirm.  Every
 * code of common/error.h has its row; a code without one is
 * a failure.
 */
#include "cli.h"

static const struct {
	int	code;
	int	status;
} exit_table[] = {
	{ ERR_OK,		0 },
	{ ERR_FAIL,		1 },
	{ ERR_INPUT,		2 },
	{ ERR_PENDING,		3 },
	{ ERR_NOTFOUND,		1 },
	{ ERR_NOREV,		1 },
	{ ERR_EXISTS,		1 },
	{ ERR_NOSTORE,		1 },
	{ ERR_NOTPRIMARY,	1 },
	{ ERR_NODAEMON,		1 },
	{ ERR_DISKFULL,		1 },
	{ ERR_BADKEY,		2 },
	{ ERR_BADHOST,		2 },
	{ ERR_BADVALUE,		2 },
	{ ERR_SCHEMA,		2 },
	{ ERR_CHECK,		2 },
	{ ERR_MALFORMED,	2 },
	{ ERR_UNTRUSTED,	2 },
	{ ERR_BADSIG,		2 },
	{ ERR_DIVERGED,		1 },
	{ ERR_GAP,		1 },
	{ ERR_TIMEOUT,		1 },
	{ ERR_CORRUPT,		1 },
	{ ERR_STALE,		1 },
	{ ERR_NOCONFIRM,	5 },
	{ ERR_DEGRADED,		4 },
	{ ERR_FENCED,		1 },
	{ ERR_EPOCH,		2 },
};

int
cli_exit_status(int code)
{
	for (size_t i = 0; i < sizeof(exit_table) / sizeof(exit_table[0]); i++)
		if (exit_table[i].code == code)
			return exit_table[i].status;
	return 1;
}
