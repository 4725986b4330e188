/*
 * test_error.c - every error code has a name, a meaning and the exit
 * status that docs/STORE.md ("Error codes") documents for it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
/* The command line's table of exit statuses, as cfgstore is built with. */
#include "../../cli/exit.c"

static const struct {
	int		 code;
	const char	*name;
} codes[] = {
	{ ERR_FAIL, "ERR_FAIL" }, { ERR_INPUT, "ERR_INPUT" },
	{ ERR_PENDING, "ERR_PENDING" }, { ERR_NOTFOUND, "ERR_NOTFOUND" },
	{ ERR_NOREV, "ERR_NOREV" }, { ERR_EXISTS, "ERR_EXISTS" },
	{ ERR_NOSTORE, "ERR_NOSTORE" }, { ERR_NOTPRIMARY, "ERR_NOTPRIMARY" },
	{ ERR_NODAEMON, "ERR_NODAEMON" }, { ERR_DISKFULL, "ERR_DISKFULL" },
	{ ERR_BADKEY, "ERR_BADKEY" }, { ERR_BADHOST, "ERR_BADHOST" },
	{ ERR_BADVALUE, "ERR_BADVALUE" }, { ERR_SCHEMA, "ERR_SCHEMA" },
	{ ERR_CHECK, "ERR_CHECK" }, { ERR_MALFORMED, "ERR_MALFORMED" },
	{ ERR_UNTRUSTED, "ERR_UNTRUSTED" }, { ERR_BADSIG, "ERR_BADSIG" },
	{ ERR_DIVERGED, "ERR_DIVERGED" }, { ERR_GAP, "ERR_GAP" },
	{ ERR_TIMEOUT, "ERR_TIMEOUT" },
	{ ERR_CORRUPT, "ERR_CORRUPT" },
	{ ERR_STALE, "ERR_STALE" },
	{ ERR_NOCONFIRM, "ERR_NOCONFIRM" },
	{ ERR_DEGRADED, "ERR_DEGRADED" },
	{ ERR_FENCED, "ERR_FENCED" }, { ERR_EPOCH, "ERR_EPOCH" },
};
#define NCODES (sizeof(codes) / sizeof(codes[0]))

/* The exit status docs/STORE.md gives NAME: "| `NAME` | N |"; -1 if none. */
static int
documented_status(const char *doc, const char *name)
{
	char row[64];
	const char *p;

	snprintf(row, sizeof(row), "| `%s` | ", name);
	if ((p = strstr(doc, row)) == NULL)
		return -1;
	p += strlen(row);
	if (*p < '0' || *p > '9' || p[1] != ' ')
		return -1;
	return *p - '0';
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	if ((s = calloc(1, (size_t)n + 1)) != NULL &&
	    fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

static void
test_table(const char *doc)
{
	/* Every code of the reserved range is listed here. */
	CHECK(NCODES == 3 + (size_t)(ERR_LAST - ERR_FIRST + 1));
	for (size_t i = 0; i < NCODES; i++) {
		int want = documented_status(doc, codes[i].name);
		int got = cli_exit_status(codes[i].code);

		if (want != got)
			printf("not ok: %s exits %d, documented %d\n",
			    codes[i].name, got, want);
		CHECK(want == got && got >= 1 && got <= 5);
		CHECK(strcmp(error_string(codes[i].code),
		    "unknown error code") != 0);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(error_string(codes[i].code),
			    error_string(codes[j].code)) != 0);
	}
	/* The generic codes are their own exit status. */
	CHECK(cli_exit_status(ERR_FAIL) == ERR_FAIL &&
	    cli_exit_status(ERR_INPUT) == ERR_INPUT &&
	    cli_exit_status(ERR_PENDING) == ERR_PENDING);
	CHECK(cli_exit_status(ERR_OK) == 0);
	CHECK(cli_exit_status(ERR_LAST + 1) == 1);
	CHECK(strcmp(error_string(ERR_LAST + 1), "unknown error code") == 0);
	CHECK(strcmp(error_string(-5), "unknown error code") == 0);
}

static void
test_set_and_wrap(void)
{
	struct error err = { 0 };

	CHECK(error_set(&err, ERR_NOREV, "no revision %d", 9) == -1);
	CHECK(err.code == ERR_NOREV && strcmp(err.msg, "no revision 9") == 0);
	/* Context on the way up keeps the code. */
	error_wrap(&err, "show");
	CHECK(err.code == ERR_NOREV);
	error_clear(&err);
	CHECK(err.code == ERR_OK);
	/* An unset code wrapped is a failure, never success. */
	error_wrap(&err, "x");
	CHECK(err.code == ERR_FAIL);
	/* A full disk is a full disk whatever the caller thought. */
	errno = ENOSPC;
	error_errno(&err, ERR_FAIL, "commit");
	CHECK(err.code == ERR_DISKFULL);
	errno = EACCES;
	error_errno(&err, ERR_INPUT, "x");
	CHECK(err.code == ERR_INPUT);
	CHECK(error_set(NULL, ERR_FAIL, "nobody listens") == -1);
}

int
main(void)
{
	const char *src = getenv("SRCDIR");
	char path[1024];
	char *doc;

	snprintf(path, sizeof(path), "%s/docs/STORE.md", src ? src : ".");
	if ((doc = slurp(path)) == NULL) {
		printf("not ok: cannot read %s\n", path);
		return 1;
	}
	test_table(doc);
	test_set_and_wrap();
	free(doc);
	return check_done();
}
