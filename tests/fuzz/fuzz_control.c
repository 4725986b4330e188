/*
 * fuzz_control.c - the lines of the control socket (replicator/ctlmsg.c),
 * which the daemon reads from any local client and the command line
 * reads from the daemon.
 *
 * The input is one line.  A line that parses must have its fields inside
 * it and its numbers (and a prepare's hash, in hex) in the one spelling
 * that reads back the same; one that does not must say why.  See fuzz.h for how harnesses are built and run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlmsg.h"
#include "fuzz.h"

static void
inside(const char *p, const char *line, size_t size)
{
	if (p != NULL && (p < line || p > line + size))
		abort();	/* a field outside the line */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct error err = { 0 };
	struct ctl_line l;
	char *line, *copy;

	if ((line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if ((copy = strdup(line)) == NULL) {
		free(line);
		return 0;
	}
	if (ctl_parse(line, &l, &err) == -1) {
		if (err.code != ERR_INPUT || err.msg[0] == '\0')
			abort();	/* a refusal always says why */
	} else {
		inside(l.name, line, size);
		inside(l.text, line, size);
		if (l.kind == CTL_COMMIT) {
			char back[64];

			/* "commit REV WAIT": the numbers as they were written. */
			snprintf(back, sizeof(back), "commit %" PRIu64 " %"
			    PRIu64, l.n[0], l.n[1]);
			if (strcmp(back, copy) != 0)
				abort();
		}
		if (l.kind == CTL_PREPARE) {
			char back[160];
			size_t i, o;

			/* "prepare REV HASH WAIT LEN": as written, hex too. */
			o = (size_t)snprintf(back, sizeof(back), "prepare %"
			    PRIu64 " ", l.n[0]);
			for (i = 0; i < sizeof(l.hash); i++, o += 2)
				snprintf(back + o, sizeof(back) - o, "%02x",
				    l.hash[i]);
			snprintf(back + o, sizeof(back) - o, " %" PRIu64 " %"
			    PRIu64, l.n[1], l.n[2]);
			if (strcmp(back, copy) != 0)
				abort();
		}
		if (l.kind == CTL_VERDICT && l.n[0] > 3)
			abort();	/* a verdict's state out of range */
	}
	ctl_clean(copy);
	if (strpbrk(copy, "\t\r\n") != NULL)
		abort();	/* a cleaned field still splits */
	free(copy);
	free(line);
	return 0;
}
