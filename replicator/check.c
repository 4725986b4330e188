/*
 * check.c - a replica's answer to a prepare (docs/PROTOCOL.md,
 * "prepare"): the candidate rendered for this node alone and run past
 * its own checkers in a scratch directory, nothing installed or stored.
 *
 * The checks take seconds, so they run on the render worker; the session
 * that asked (inbound.c) polls for the verdict and keeps the primary
 * told we are alive meanwhile.  The job holds copies of all it needs:
 * the worker sees nothing of the daemon but the store, and the frame the
 * change came in is reused as soon as the session reads the next one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "log.h"
#include "render.h"
#include "repl_int.h"

struct check_job {
	struct work	 w;
	char		 name[STORE_NODE_MAX + 1];	/* who asked */
	char		 node[STORE_NODE_MAX + 1];	/* this node */
	char		*root;		/* NULL: none */
	uint64_t	 id, base, t0;
	struct buf	 chg;		/* the change's bytes */
	struct change	*c;		/* NULL: every file */
	char		*refusals;
	size_t		 nrefused, nchecked;
	struct error	 err;
	int		 rc;
	int		 busy;		/* queued or running */
	int		 finished;	/* its done callback ran */
	int		 abandoned;	/* unpolled: done frees it */
};

static void
job_free(struct check_job *j)
{
	change_free(j->c);
	free(j->refusals);
	free(j->root);
	/* The change may hold a key (dhcpd.key): wiped, not just freed. */
	buf_free_secret(&j->chg);
	free(j);
}

/* On the worker: j and the store only. */
static void
check_run(struct work *w)
{
	struct check_job *j = w->arg;

	/* Decoded here too: 100,000 keys take a while, with pongs. */
	if (j->chg.len > 0 && change_decode(j->chg.data, j->chg.len, &j->c,
	    &j->err) == -1)
		j->rc = error_wrap(&j->err, "malformed change");
	else
		j->rc = render_check_host(w->d->s, j->base, j->c, j->node,
		    j->root, &j->refusals, &j->nrefused, &j->nchecked,
		    &j->err);
}

/* In the loop, once the checks ended (or never ran: stopping). */
static void
check_done(struct daemon *d, struct work *w)
{
	struct check_job *j = w->arg;

	(void)d;
	j->busy = 0;
	j->finished = 1;
	if (w->cancelled)
		j->rc = error_set(&j->err, ERR_FAIL, "daemon shutting down");
	if (j->abandoned)
		job_free(j);
}

/* Splits text into at most PROTO_LINES_MAX lines, in place. */
static size_t
split_lines(char *text, char **lines, size_t nrefused)
{
	static char more[64];
	size_t n = 0;
	char *next;

	for (; text != NULL && *text != '\0' && n < PROTO_LINES_MAX;
	    text = next) {
		if ((next = strchr(text, '\n')) != NULL)
			*next++ = '\0';
		else
			next = text + strlen(text);
		lines[n++] = text;
	}
	if (n == PROTO_LINES_MAX && nrefused > n) {
		snprintf(more, sizeof(more), "... and %zu more refusals",
		    nrefused - n + 1);
		lines[n - 1] = more;
	}
	return n;
}

/*
 * The verdict message into reply, and the log line of it.  A message
 * that could not be encoded leaves reply empty: nothing half written is
 * sent.
 */
static void
verdict(const char *name, uint64_t id, uint64_t base, uint64_t t0,
    enum proto_verdict st, char *const *lines, size_t nlines,
    size_t nchecked, struct buf *reply)
{
	log_info("%s: prepare %" PRIu64 " on r%" PRIu64 ": %s, %zu checks, "
	    "%" PRIu64 " ms", name, id, base, proto_verdict_name(st),
	    nchecked, repl_mono_ms() - t0);
	if (proto_verdict(reply, id, st, lines, nlines) == -1)
		buf_reset(reply);
}

int
check_start(struct daemon *d, const char *name, const struct msg *m,
    struct check_job **out, struct buf *reply)
{
	struct check_job *j;
	unsigned char hash[STORE_HASH_LEN];
	char why[PROTO_TEXT_MAX + 1], *one = why;
	uint64_t head, t0 = repl_mono_ms();

	*out = NULL;
	if (repl_head(d, &head, hash) == -1)
		snprintf(why, sizeof(why), "cannot read the head");
	else if (head != m->head)
		snprintf(why, sizeof(why), "%s is at r%" PRIu64 ", not at r%"
		    PRIu64, d->node, head, m->head);
	else if (sodium_memcmp(hash, m->hash, STORE_HASH_LEN) != 0)
		snprintf(why, sizeof(why), "%s's r%" PRIu64 " differs from "
		    "the primary's", d->node, head);
	else if ((j = calloc(1, sizeof(*j))) == NULL)
		snprintf(why, sizeof(why), "out of memory");
	else {
		snprintf(j->name, sizeof(j->name), "%s", name);
		snprintf(j->node, sizeof(j->node), "%s", d->node);
		j->id = m->id;
		j->base = m->head;
		j->t0 = t0;
		buf_secret(&j->chg);
		if ((d->root != NULL && (j->root = strdup(d->root)) == NULL) ||
		    (m->change_len > 0 && buf_append(&j->chg, m->change,
		    m->change_len) == -1)) {
			job_free(j);
			snprintf(why, sizeof(why), "out of memory");
		} else {
			j->w.run = check_run;
			j->w.done = check_done;
			j->w.arg = j;
			j->busy = 1;
			work_submit(d, WORK_RENDER, &j->w);
			*out = j;
			return 0;
		}
	}
	verdict(name, m->id, m->head, t0, VERDICT_UNCHECKED, &one, 1, 0,
	    reply);
	return -1;
}

int
check_poll(struct check_job *j, struct buf *reply)
{
	enum proto_verdict st = VERDICT_UNCHECKED;
	char why[PROTO_TEXT_MAX + 1], *lines[PROTO_LINES_MAX], *one = why;
	char *const *send = &one;
	size_t nlines = 1;

	if (!j->finished)
		return 0;
	if (j->rc == -1)
		snprintf(why, sizeof(why), "%.500s", j->err.msg);
	else if (j->nrefused > 0) {
		st = VERDICT_NO;
		nlines = split_lines(j->refusals, lines, j->nrefused);
		send = lines;
	} else {
		st = VERDICT_YES;
		snprintf(why, sizeof(why), "%zu check%s passed", j->nchecked,
		    j->nchecked == 1 ? "" : "s");
	}
	verdict(j->name, j->id, j->base, j->t0, st, send, nlines,
	    j->nchecked, reply);
	return 1;
}

void
check_free(struct check_job *j)
{
	if (j == NULL)
		return;
	/* The worker may hold it: its done callback frees it then. */
	if (j->busy) {
		j->abandoned = 1;
		return;
	}
	job_free(j);
}
