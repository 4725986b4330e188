/*
 * ctlmsg.h - the lines of the control socket (docs/PROTOCOL.md, "Control
 * socket"): what the command line and the daemon say to each other, and
 * the one parser of them, used by both sides.  Internal to replicator/.
 */
#ifndef CFGSTORE_CTLMSG_H
#define CFGSTORE_CTLMSG_H

#include <stdint.h>

#include "error.h"

/*
 * Every line either side sends, and its one parser.  Fields are split at
 * tabs (requests at single spaces), counted exactly, and numbers are
 * plain decimal that fits: a line that is anything else is refused.
 */
enum ctl_kind {
	CTL_COMMIT,	/* commit REV WAIT_MS */
	CTL_STATUS,	/* status */
	CTL_RELOAD,	/* reload */
	CTL_END,	/* end */
	CTL_ERROR,	/* error WHY */
	CTL_NODE,	/* NODE STATE TEXT */
	CTL_PEER,	/* peer NAME CONNECTED ACKED ACKED_MS HEAD ERROR_MS ERROR */
	CTL_PID,	/* pid PID */
	CTL_PREPARE,	/* prepare REV HASH WAIT_MS LEN, then LEN bytes */
	CTL_VERDICT,	/* verdict NODE STATUS MS TEXT */
};

struct ctl_line {
	enum ctl_kind	 kind;
	const char	*name, *text;	/* NODE, PEER; TEXT, ERROR, error */
	uint64_t	 n[5];		/* the numbers, in order */
	unsigned char	 hash[32];	/* PREPARE: 64 lowercase hex digits */
};

/*
 * Parses one line (without its newline), in place: fields point into
 * line.  0, or -1 with ERR_INPUT for anything that is not exactly one of
 * the lines above.
 */
int	ctl_parse(char *line, struct ctl_line *l, struct error *err);
/* Makes s fit in a field: tabs and line ends become spaces. */
void	ctl_clean(char *s);

#endif
