/*
 * health.h - `cfgstore status`'s verdict: healthy, or degraded and why.
 *
 * Every reason is a short token (for scripts and --json) and one line
 * (for people).  health_verdict is the one place that decides: a new
 * reason is one health_add there.
 */
#ifndef CFGSTORE_HEALTH_H
#define CFGSTORE_HEALTH_H

#include <stddef.h>

#include "replicator.h"
#include "store.h"

#define HEALTH_MAX	32	/* reasons kept; more are only counted */

struct health_reason {
	char	token[24];
	char	line[512];
};

struct health {
	size_t			n;	/* reasons found, kept or not */
	struct health_reason	r[HEALTH_MAX];
};

void	health_add(struct health *h, const char *token, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Every reason this node is not healthy: h->n is 0 when it is. */
void	health_verdict(struct store *s, const struct repl_status *st,
	    struct health *h);

#endif
