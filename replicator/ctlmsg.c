/*
 * ctlmsg.c - the control socket's lines, parsed in one place.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctlmsg.h"
#include "replicator.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
ctl_u64(const char *s, uint64_t *v)
{
	char *end;

	/* Plain decimal, one spelling: no sign, no leading zero. */
	if (*s < '0' || *s > '9' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : 0;
}

/* Exactly 64 lowercase hex digits: one spelling. */
static int
ctl_hash(const char *s, unsigned char *h, size_t len)
{
	size_t i;
	int hi, lo;

	if (strlen(s) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		h[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* Splits line at sep, in place, into at most max fields; the count. */
static int
fields(char *line, int sep, char **f, int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = line;
		if ((line = strchr(line, sep)) == NULL)
			return n;
		*line++ = '\0';
	}
	return max + 1;		/* more than max */
}

int
ctl_parse(char *line, struct ctl_line *l, struct error *err)
{
	char *f[9];
	int n, i, nums = 0;

	memset(l, 0, sizeof(*l));
	if (strcmp(line, "end") == 0) {
		l->kind = CTL_END;
		return 0;
	}
	if (strcmp(line, "status") == 0 || strcmp(line, "reload") == 0) {
		l->kind = line[0] == 's' ? CTL_STATUS : CTL_RELOAD;
		return 0;
	}
	if (strncmp(line, "commit ", 7) == 0) {
		l->kind = CTL_COMMIT;
		if (fields(line, ' ', f, 3) != 3 || ctl_u64(f[1], &l->n[0]) ||
		    ctl_u64(f[2], &l->n[1]))
			return error_set(err, ERR_INPUT, "bad commit request");
		return 0;
	}
	if (strncmp(line, "prepare ", 8) == 0) {
		l->kind = CTL_PREPARE;
		if (fields(line, ' ', f, 5) != 5 || ctl_u64(f[1], &l->n[0]) ||
		    ctl_hash(f[2], l->hash, sizeof(l->hash)) ||
		    ctl_u64(f[3], &l->n[1]) || ctl_u64(f[4], &l->n[2]))
			return error_set(err, ERR_INPUT, "bad prepare request");
		return 0;
	}
	n = fields(line, '\t', f, 8);
	if (n == 2 && strcmp(f[0], "error") == 0) {
		l->kind = CTL_ERROR;
		l->text = f[1];
		return 0;
	}
	if (n == 2 && strcmp(f[0], "pid") == 0) {
		l->kind = CTL_PID;
		nums = ctl_u64(f[1], &l->n[0]);
	} else if (n == 8 && strcmp(f[0], "peer") == 0) {
		l->kind = CTL_PEER;
		l->name = f[1];
		l->text = f[7];
		for (i = 0; i < 5; i++)
			nums |= ctl_u64(f[2 + i], &l->n[i]);
	} else if (n == 5 && strcmp(f[0], "verdict") == 0) {
		l->kind = CTL_VERDICT;
		l->name = f[1];
		l->text = f[4];
		nums = ctl_u64(f[2], &l->n[0]) || ctl_u64(f[3], &l->n[1]) ||
		    l->n[0] > REPL_CHECK_UNCHECKED;
	} else if (n == 3) {
		l->kind = CTL_NODE;
		l->name = f[0];
		l->text = f[2];
		nums = ctl_u64(f[1], &l->n[0]) || l->n[0] > REPL_NODE_FAILED;
	} else
		return error_set(err, ERR_INPUT, "bad line");
	if (nums)
		return error_set(err, ERR_INPUT, "bad number");
	return 0;
}

/* Text in a field: no tab, no newline. */
void
ctl_clean(char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '\t' || *s == '\n' || *s == '\r')
			*s = ' ';
}

